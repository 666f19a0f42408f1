package planner

import (
	"fmt"
	"reflect"
	"testing"
)

func TestCredentialKey(t *testing.T) {
	for key, want := range map[string]bool{
		"password":                       true,
		"linkConfig.password":            true,
		"user_password":                  true, // DIS DWS dump tasks
		"db-password":                    true,
		"passwd":                         true,
		"pwd":                            true,
		"sk":                             true,
		"securityKey":                    true,
		"secret_key":                     true, // LakeFormation data sources
		"client_secret":                  true,
		"token":                          true,
		"X-Auth-Token":                   true,
		"access_token":                   true,
		"Authorization":                  true,
		"X-Api-Key":                      true,
		"private_key":                    true,
		"task":                           false,
		"ask":                            false,
		"access_key":                     false, // an AK is an identifier; its shape is checked instead
		"kms_user_key_name":              false,
		"user_name":                      false,
		"tokenizer":                      false,
		"fromJobConfig.whereClause":      false,
		"retryJobConfig.retryJobType":    false,
		"throttlingConfig.numLoaders":    false,
		"partition_format":               false,
		"password_policy.min_length.x":   false,
		"spark.hadoop.fs.obs.secret.key": true,
		"spark.hadoop.fs.obs.access.key": false,
		"api.key":                        true,
		"secret.name":                    false,
	} {
		if got := credentialKey(key); got != want {
			t.Errorf("credentialKey(%q) = %t, want %t", key, got, want)
		}
	}
}

// TestCredentialValues checks what a credential-named input, at any depth
// of `with`, may hold: a template reading secrets and nothing else.
func TestCredentialValues(t *testing.T) {
	const head = "name: p\nparams: {pw: x, n: 1}\nsteps:\n"
	const literal = `holds a credential: write it as ${secret.NAME} so the worker supplies it; a value written here would be stored in workflow history in clear text.`
	notSecret := func(key, ref string) string {
		return fmt.Sprintf(`%q holds a credential, so its template may read secrets only, and %s is not one: its value would be stored in workflow history in clear text. Write ${secret.NAME} instead; text around it ("Bearer ${secret.NAME}") and functions of secrets are fine.`, key, ref)
	}
	tests := []struct {
		name string
		src  string
		want []wantDiag
	}{
		{
			name: "a secret with text around it",
			src:  head + "  - {id: a, kind: http, with: {url: 'https://x.example.com', headers: {Authorization: 'Bearer ${secret.tok}'}}}\n",
		},
		{
			name: "a function of a secret",
			src:  head + "  - {id: a, kind: http, with: {url: 'https://x.example.com', headers: {Authorization: 'Bearer ${upper(secret.tok)}'}}}\n",
		},
		{
			name: "a secret and a parameter",
			src:  head + "  - {id: a, kind: http, with: {url: 'https://x.example.com', headers: {Authorization: '${secret.tok}${params.pw}'}}}\n",
			want: []wantDiag{{"4:103-4:112", "Credential not from a secret", notSecret("Authorization", "params.pw")}},
		},
		{
			name: "a template that reads nothing",
			src:  head + "  - {id: a, kind: http, with: {url: 'https://x.example.com', headers: {X-Api-Key: '${\"hunter2\"}'}}}\n",
			want: []wantDiag{{"4:83-4:97", "Literal credential", `"X-Api-Key" holds a credential, but its template reads no secret: write it as ${secret.NAME} so the worker supplies it; a value written here would be stored in workflow history in clear text.`}},
		},
		{
			name: "an escaped template is a literal",
			src:  head + "  - {id: a, kind: http, with: {url: 'https://x.example.com', headers: {X-Auth-Token: '$${secret.tok}'}}}\n",
			want: []wantDiag{{"4:86-4:102", "Literal credential", `"X-Auth-Token" ` + literal}},
		},
		{
			name: "a number",
			src:  head + "  - {id: a, kind: cdm.job, with: {name: j, cluster_id: c, from_link: l, from_connector: c, to_link: m, to_connector: d, links: [{name: l, connector: c, config: {linkConfig.password: 123456}}]}}\n",
			want: []wantDiag{{"4:183-4:189", "Literal credential", `"linkConfig.password" ` + literal}},
		},
		{
			name: "a bool is a setting",
			src:  head + "  - {id: a, kind: dli.sql, with: {sql: x, conf: {spark.use.token: true}}}\n",
		},
		{
			name: "hadoop's secret key in conf",
			src:  head + "  - {id: a, kind: dli.sql, with: {sql: x, conf: {spark.hadoop.fs.obs.secret.key: '${params.pw}'}}}\n",
			want: []wantDiag{{"4:85-4:94", "Credential not from a secret", notSecret("spark.hadoop.fs.obs.secret.key", "params.pw")}},
		},
		{
			name: "JSON body in a string",
			src:  head + "  - {id: a, kind: http, with: {url: 'https://x.example.com', method: POST, body: '{\"user\": \"u\", \"password\": \"hunter2\"}'}}\n",
			want: []wantDiag{{"4:110-4:117", "Literal credential", `"password" ` + literal}},
		},
		{
			name: "JSON body with a parameter for the sk",
			src:  head + "  - {id: a, kind: http, with: {url: 'https://x.example.com', method: POST, body: '{\"ak\": \"${secret.ak}\", \"sk\": \"${params.pw}\"}'}}\n",
			want: []wantDiag{{"4:115-4:124", "Credential not from a secret", notSecret("sk", "params.pw")}},
		},
		{
			name: "JSON body with secrets and templates where values go",
			src:  head + "  - {id: a, kind: http, with: {url: 'https://x.example.com', method: POST, body: '{\"n\": ${params.n}, \"auth\": {\"password\": \"${secret.pw}\"}}'}}\n",
		},
		{
			name: "JSON body with a number for a password",
			src:  head + "  - {id: a, kind: http, with: {url: 'https://x.example.com', method: POST, body: '[{\"password\": 1234}]'}}\n",
			want: []wantDiag{{"4:97-4:101", "Literal credential", `"password" ` + literal}},
		},
		{
			name: "JSON body in a block",
			src: head + `  - id: a
    kind: http
    with:
      url: https://x.example.com
      method: POST
      body: |
        {
          "user": "loader",
          "db": {"password": "hunter2"}
        }
`,
			want: []wantDiag{{"12:31-12:38", "Literal credential", `"password" ` + literal}},
		},
		{
			name: "body as a mapping",
			src: head + `  - id: a
    kind: http
    with:
      url: https://x.example.com
      body:
        user: u
        creds: {sk: abc}
`,
			want: []wantDiag{
				{"9:9-9:10", `Invalid input "body"`, "http: expected a string."},
				{"10:21-10:24", "Literal credential", `"sk" ` + literal},
			},
		},
		{
			name: "password in a URL's query",
			src:  head + "  - {id: a, kind: http, with: {url: 'https://x.example.com/a?user=u&password=hunter2#top'}}\n",
			want: []wantDiag{{"4:78-4:85", "Literal credential", `"password" ` + literal}},
		},
		{
			name: "token from a secret in a URL's query",
			src:  head + "  - {id: a, kind: http, with: {url: 'https://x.example.com/query?token=${secret.t}&page_token=abc'}}\n",
		},
		{
			name: "password in a URL's authority",
			src:  head + "  - {id: a, kind: http, with: {url: 'https://loader:hunter2@x.example.com/a'}}\n",
			want: []wantDiag{{"4:53-4:60", "Literal credential", `"password" ` + literal}},
		},
		{
			name: "JDBC URL in SQL",
			src:  head + "  - {id: a, kind: dli.sql, with: {sql: \"CREATE TABLE t USING jdbc OPTIONS (url 'jdbc:mysql://db:3306/x?password=${params.pw}')\"}}\n",
			want: []wantDiag{{"4:115-4:124", "Credential not from a secret", notSecret("password", "params.pw")}},
		},
		{
			name: "for_each item as a password",
			src:  head + "  - {id: a, kind: dli.sql, for_each: [x], with: {sql: x, conf: {db.password: '${item}'}}}\n",
			want: []wantDiag{{"4:81-4:85", "Credential not from a secret", notSecret("db.password", "item")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := Compile(load(t, tt.src))
			got := diagList(diags)
			if len(got) != len(tt.want) || len(got) > 0 && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", formatDiags(got), formatDiags(tt.want))
			}
		})
	}
}

// A parameter named like a credential may not be given one: its value
// is stored in the plan.
func TestCredentialParams(t *testing.T) {
	const detail = "Parameter %q is named like a credential, and %s stored in the plan and in workflow history in clear text. Give the credential to the worker and write ${secret.NAME} where it is used, in a step's with."
	const under = "Parameter %q holds a credential under %q, and %s stored in the plan and in workflow history in clear text. Give the credential to the worker and write ${secret.NAME} where it is used, in a step's with."
	step := "steps:\n  - {id: a, kind: dli.sql, with: {sql: select 1}}\n"
	for _, tt := range []struct {
		name, params string
		overrides    map[string]string
		want         []wantDiag
	}{
		{"short form", "params:\n  db_password: hunter2\n", nil,
			[]wantDiag{{"3:16-3:23", "Literal credential", fmt.Sprintf(detail, "db_password", "its default is")}}},
		{"long form", "params:\n  token: {type: string, default: abc}\n", nil,
			[]wantDiag{{"3:34-3:37", "Literal credential", fmt.Sprintf(detail, "token", "its default is")}}},
		{"--param", "params:\n  token: {type: string}\n", map[string]string{"token": "zzz"},
			[]wantDiag{{"3:3-3:8", "Literal credential", fmt.Sprintf(detail, "token", "a --param value is")}}},
		{"number default", "params:\n  token: 12345\n", nil,
			[]wantDiag{{"3:10-3:15", "Literal credential", fmt.Sprintf(detail, "token", "its default is")}}},
		{"in a map default", "params:\n  db: {host: db1, password: hunter2, use_token: true}\n", nil,
			[]wantDiag{{"3:29-3:36", "Literal credential", fmt.Sprintf(under, "db", "password", "its default is")}}},
		{"number in a list default", "params:\n  dbs: {type: list, default: [{host: a, api_key: 42}]}\n", nil,
			[]wantDiag{{"3:50-3:52", "Literal credential", fmt.Sprintf(under, "dbs", "api_key", "its default is")}}},
		{"nested, block style", "params:\n  conn:\n    opts:\n      Secret: [\"a\", \"\"]\n", nil,
			[]wantDiag{{"5:16-5:19", "Literal credential", fmt.Sprintf(under, "conn", "Secret", "its default is")}}},
		{"default overridden", "params:\n  db: {host: db1, password: hunter2}\n", map[string]string{"db": `{"host":"db2"}`},
			[]wantDiag{{"3:29-3:36", "Literal credential", fmt.Sprintf(under, "db", "password", "its default is")}}},
		{"--param map", "params:\n  db: {type: map}\n", map[string]string{"db": `{"host":"db2","conf":{"token":7}}`},
			[]wantDiag{{"3:3-3:5", "Literal credential", fmt.Sprintf(under, "db", "token", "a --param value is")}}},
		{"--param list", "params:\n  dbs: {type: list}\n", map[string]string{"dbs": `[{"password":"x"}]`},
			[]wantDiag{{"3:3-3:6", "Literal credential", fmt.Sprintf(under, "dbs", "password", "a --param value is")}}},
		{"--param map, no credential", "params:\n  db: {type: map}\n", map[string]string{"db": `{"password":"","use_token":true,"token_count":3}`}, nil},
		{"not credentials", "params:\n  conf: {password_policy: strict, token_count: 3, token: null}\n  use_token: true\n  token_count: 3\n  secret_name: db\n  password_policy: strict\n  token: {type: string, default: \"\"}\n", nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := CompileWith(load(t, "name: p\n"+tt.params+step), Options{Params: tt.overrides})
			if got := diagList(diags); len(got) != len(tt.want) || len(got) > 0 && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", formatDiags(got), formatDiags(tt.want))
			}
		})
	}
}

func TestMaskTemplates(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                           "plain",
		`{"n": ${params.n}}`:              `{"n": xxxxxxxxxxx}`,
		`a${x}b${y}c`:                     `axxxxbxxxxc`,
		`${jsonencode({"a": "${s.x}"})}!`: `xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx!`,
		`$${not} ${yes}`:                  `$${not} xxxxxx`,
		"%{ if a }x%{ endif }y":           "xxxxxxxxxxxxxxxxxxxxy",
		"${a +\nb}c":                      "xxxxx\nxxc",
		`?p=${unterminated`:               `?p=xxxxxxxxxxxxxx`,
	} {
		if got := string(maskTemplates(in)); got != want {
			t.Errorf("maskTemplates(%q) = %q, want %q", in, got, want)
		}
	}
}

package planner

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"gopkg.in/yaml.v3"

	"github.com/pipectl/pipectl/spec"
	"github.com/pipectl/pipectl/spec/expr"
)

// A credential in `with` must come from a secret: the worker puts it into
// the request when it calls the service, so that it is never in the plan,
// in workflow history or in logs. Every value under a credential-named key
// (at any depth: headers, a JSON body, a URL's query, cdm links' config…)
// must therefore be a template that reads secrets and nothing else, such
// as "${secret.db_pw}" or "Bearer ${upper(secret.tok)}". Words shaped like
// access and secret keys are refused anywhere in a spec by the loader.

// credentialKey reports whether an input name holds a credential: its last
// dotted segment, lower-cased without '_' and '-', is a short credential
// word, or it ends with a longer one ("user_password", "X-Api-Key",
// "client_secret"), or its last two segments do as one (Hadoop's
// "fs.obs.secret.key"). Short words match whole segments only, so "task"
// is not "sk".
func credentialKey(key string) bool {
	segs := strings.Split(strings.ToLower(key), ".")
	last := keyNormalizer.Replace(segs[len(segs)-1])
	switch last {
	case "pwd", "sk", "token", "authorization":
		return true
	}
	tails := []string{last}
	if len(segs) > 1 {
		tails = append(tails, keyNormalizer.Replace(segs[len(segs)-2])+last)
	}
	for _, tail := range tails {
		for _, w := range []string{"password", "passwd", "secret", "secretkey", "securitykey", "securitytoken",
			"authtoken", "accesstoken", "refreshtoken", "apikey", "privatekey"} {
			if strings.HasSuffix(tail, w) {
				return true
			}
		}
	}
	return false
}

var keyNormalizer = strings.NewReplacer("_", "", "-", "")

// literalCredentials reports the credentials of input key of a step's
// `with`, written at n, that do not come from secrets. secret says the
// input is a credential whatever its name.
func (c *compiler) literalCredentials(n *yaml.Node, key string, secret bool) {
	if n == nil {
		return
	}
	var walk func(n *yaml.Node, key string, cred bool)
	walk = func(n *yaml.Node, key string, cred bool) {
		switch n.Kind {
		case yaml.ScalarNode:
			if cred {
				c.credentialScalar(n, key)
			} else if n.Tag == "!!str" {
				c.embeddedCredentials(n)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				walk(n.Content[i+1], k, credentialKey(k))
			}
		case yaml.SequenceNode:
			for _, e := range n.Content {
				walk(e, key, cred)
			}
		case yaml.AliasNode:
			walk(n.Alias, key, cred)
		}
	}
	walk(n, key, secret || credentialKey(key))
}

// credentialScalar checks the value of credential key written at n.
func (c *compiler) credentialScalar(n *yaml.Node, key string) {
	switch n.Tag {
	case "!!null", "!!bool":
		return // no credential: a setting such as `use_token: true`
	case "!!str":
		if n.Value != "" {
			c.credentialText(n.Value, key, c.rng(n), c.p.ValueMap(n), 0)
		}
	default: // a number
		c.errorf(c.rng(n), "Literal credential", literalCredential, key)
	}
}

const literalCredential = "%q holds a credential: write it as ${secret.NAME} so the worker supplies it; a value written here would be stored in workflow history in clear text."

// credentialText checks s, the value of credential key, written at whole;
// s starts at byte base of the string that m maps into the spec.
func (c *compiler) credentialText(s, key string, whole hcl.Range, m *spec.ValueMap, base int) {
	if !expr.HasTemplate(s) {
		c.errorf(whole, "Literal credential", literalCredential, key)
		return
	}
	e, diags := expr.Parse(s, c.p.Filename, hcl.Pos{Line: 1, Column: 1, Byte: base})
	if diags.HasErrors() {
		return // reported where the template is checked
	}
	refs := expr.Refs(e)
	if len(refs) == 0 {
		c.errorf(whole, "Literal credential",
			"%q holds a credential, but its template reads no secret: write it as ${secret.NAME} so the worker supplies it; a value written here would be stored in workflow history in clear text.", key)
		return
	}
	for _, ref := range refs {
		if ref.Root != expr.RootSecret {
			c.errorf(m.Range(ref.Range), "Credential not from a secret",
				"%q holds a credential, so its template may read secrets only, and %s is not one: its value would be stored in workflow history in clear text. Write ${secret.NAME} instead; text around it (\"Bearer ${secret.NAME}\") and functions of secrets are fine.", key, ref)
			return
		}
	}
}

// embeddedCredentials checks the credentials written inside the string at
// n: a URL's password (https://user:PASSWORD@host) and its query's
// credential-named parameters (?password=…), and credential-named keys of
// a JSON object or list it holds, such as an http step's body.
func (c *compiler) embeddedCredentials(n *yaml.Node) {
	s := n.Value
	hasURL := strings.Contains(s, "://")
	trimmed := strings.TrimSpace(s)
	isJSON := strings.HasPrefix(trimmed, "{") || strings.HasPrefix(trimmed, "[")
	if !hasURL && !isJSON {
		return
	}
	masked := maskTemplates(s)
	if hasURL {
		c.urlCredentials(n, s, masked)
	}
	if isJSON {
		c.jsonCredentials(n, s, masked)
	}
}

// maskTemplates returns s with the bytes of its templates (but line
// breaks) replaced by 'x', so that what they hold is not taken for the
// text around them; offsets and lines stay those of s.
func maskTemplates(s string) []byte {
	out := []byte(s)
	if !expr.HasTemplate(s) {
		return out
	}
	toks, _ := hclsyntax.LexTemplate(out, "", hcl.Pos{Line: 1, Column: 1})
	depth, from := 0, 0
	for _, t := range toks {
		switch t.Type {
		case hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			if depth == 0 {
				from = t.Range.Start.Byte
			}
			depth++
		case hclsyntax.TokenTemplateSeqEnd:
			if depth--; depth == 0 {
				maskBytes(out[from:t.Range.End.Byte])
			}
		}
	}
	if depth > 0 {
		maskBytes(out[from:]) // unterminated: reported where the template is checked
	}
	return out
}

func maskBytes(b []byte) {
	for i := range b {
		if b[i] != '\n' {
			b[i] = 'x'
		}
	}
}

// urlCredentials checks the URLs in s (masked is s with its templates
// masked): a password in the authority, and query parameters named like
// credentials.
func (c *compiler) urlCredentials(n *yaml.Node, s string, masked []byte) {
	end := func(from int, stop string) int {
		i := bytes.IndexFunc(masked[from:], func(r rune) bool {
			return strings.ContainsRune(stop, r) || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '"' || r == '\'' || r == '`'
		})
		if i < 0 {
			return len(masked)
		}
		return from + i
	}
	for from := 0; ; {
		i := bytes.Index(masked[from:], []byte("://"))
		if i < 0 {
			return
		}
		auth := from + i + 3
		authEnd := end(auth, "/?#")
		if at := bytes.LastIndexByte(masked[auth:authEnd], '@'); at >= 0 {
			if colon := bytes.IndexByte(masked[auth:auth+at], ':'); colon >= 0 {
				c.credentialAt(n, s, auth+colon+1, auth+at, "password")
			}
		}
		next := authEnd
		if q := end(authEnd, "?#"); q < len(masked) && masked[q] == '?' {
			qEnd := end(q+1, "#")
			for p := q + 1; p < qEnd; {
				pEnd := p + bytes.IndexAny(masked[p:qEnd], "&;")
				if pEnd < p {
					pEnd = qEnd
				}
				if eq := bytes.IndexByte(masked[p:pEnd], '='); eq >= 0 && credentialKey(s[p:p+eq]) {
					c.credentialAt(n, s, p+eq+1, pEnd, s[p:p+eq])
				}
				p = pEnd + 1
			}
			next = qEnd
		}
		from = next
	}
}

// jsonCredentials checks the values of credential-named keys in the JSON
// (or YAML flow) document s holds; masked is s with its templates masked,
// which lets a document with templates where values go be parsed.
func (c *compiler) jsonCredentials(n *yaml.Node, s string, masked []byte) {
	var doc yaml.Node
	if err := yaml.Unmarshal(masked, &doc); err != nil {
		return // not JSON: a string like any other
	}
	starts := []int{0}
	for i, b := range masked {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	offset := func(v *yaml.Node) int { // of v in masked
		if v.Line < 1 || v.Line > len(starts) {
			return -1
		}
		off := starts[v.Line-1]
		for col := 1; col < v.Column; col++ {
			if off >= len(masked) {
				return -1
			}
			_, size := utf8.DecodeRune(masked[off:])
			off += size
		}
		return off
	}
	var walk func(v *yaml.Node, key string, cred bool)
	walk = func(v *yaml.Node, key string, cred bool) {
		switch v.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, e := range v.Content {
				walk(e, key, cred)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(v.Content); i += 2 {
				k := v.Content[i].Value
				walk(v.Content[i+1], k, credentialKey(k))
			}
		case yaml.ScalarNode:
			if !cred || v.Tag == "!!null" || v.Tag == "!!bool" {
				return
			}
			from, to := scalarText(masked, offset(v), v)
			if from < 0 {
				return
			}
			if v.Tag != "!!str" {
				r := c.subRange(n, s, from, to)
				c.errorf(r, "Literal credential", literalCredential, key)
				return
			}
			c.credentialAt(n, s, from, to, key)
		}
	}
	walk(&doc, "", false)
}

// scalarText returns where the text of scalar v, which starts at byte off
// of masked, is, without its quotes; from is -1 when that cannot be told.
func scalarText(masked []byte, off int, v *yaml.Node) (from, to int) {
	if off < 0 || off >= len(masked) {
		return -1, -1
	}
	switch v.Style {
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		q := masked[off]
		for i := off + 1; i < len(masked); i++ {
			switch {
			case q == '"' && masked[i] == '\\':
				i++
			case masked[i] == q && q == '\'' && i+1 < len(masked) && masked[i+1] == '\'':
				i++
			case masked[i] == q:
				return off + 1, i
			}
		}
	case 0:
		if bytes.HasPrefix(masked[off:], []byte(v.Value)) {
			return off, off + len(v.Value)
		}
	}
	return -1, -1
}

// credentialAt checks s[from:to], part of the string at n, as the value of
// credential key.
func (c *compiler) credentialAt(n *yaml.Node, s string, from, to int, key string) {
	if from >= to {
		return
	}
	c.credentialText(s[from:to], key, c.subRange(n, s, from, to), c.p.ValueMap(n), from)
}

// subRange is where s[from:to], part of the string at n, is written: as
// exactly as the file tells, else the string's own position.
func (c *compiler) subRange(n *yaml.Node, s string, from, to int) hcl.Range {
	m := c.p.ValueMap(n)
	if !m.Exact() {
		return c.rng(n)
	}
	return hcl.Range{Filename: c.p.Filename, Start: m.Pos(from), End: m.Pos(to)}
}

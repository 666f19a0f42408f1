package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/pipectl/pipectl/activities"
)

func TestResolveSecrets(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "db-password"), []byte("p@ss\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := activities.EnvSecrets{Dir: dir, Getenv: func(k string) string {
		return map[string]string{"PIPECTL_SECRET_SK": "s3cr3t"}[k]
	}}
	in := json.RawMessage(`{"links":[{"config":{"linkConfig.password":"${secret.db-password}","linkConfig.sk":"x${secret.sk}y"}}],"sql":"select 1"}`)
	out, err := activities.ResolveSecrets(context.Background(), in, src)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"links":[{"config":{"linkConfig.password":"p@ss","linkConfig.sk":"xs3cr3ty"}}],"sql":"select 1"}`
	if string(out) != want {
		t.Errorf("resolved = %s\nwant       %s", out, want)
	}

	plain := json.RawMessage(`{"sql":"select 1"}`)
	if out, err := activities.ResolveSecrets(context.Background(), plain, nil); err != nil || string(out) != string(plain) {
		t.Errorf("input without secrets changed: %s, %v", out, err)
	}

	_, err = activities.ResolveSecrets(context.Background(), json.RawMessage(`{"p":"${secret.missing}"}`), src)
	var app *temporal.ApplicationError
	if !errors.As(err, &app) || !app.NonRetryable() || !strings.Contains(app.Message(), "PIPECTL_SECRET_MISSING") {
		t.Errorf("missing secret error = %v, want a non-retryable error naming where it was looked for", err)
	}
	if _, err := src.Secret(context.Background(), "../etc/passwd"); err == nil {
		t.Error("a path-like secret name was accepted")
	}
}

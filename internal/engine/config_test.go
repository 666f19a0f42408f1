package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfigFromEnvironment(t *testing.T) {
	cfg, err := LoadConfig(env(map[string]string{
		EnvRegion: "ap-southeast-1", EnvProjectID: "p1",
		EnvAK: "AKEXAMPLE0000000000X", EnvSK: "sk-value",
		EnvEndpointPrefix + "DLI": "http://127.0.0.1:9",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	for svc, want := range map[string]string{
		"dli": "http://127.0.0.1:9",
		"cdm": "https://cdm.ap-southeast-1.myhuaweicloud.com",
		"dlf": "https://dayu-dlf.ap-southeast-1.myhuaweicloud.com",
	} {
		if got := cfg.Endpoint(svc); got != want {
			t.Errorf("endpoint %s = %s, want %s", svc, got, want)
		}
	}
	// Credentials never print.
	if s := fmt.Sprintf("%+v", cfg); strings.Contains(s, "sk-value") {
		t.Errorf("config printed its secret key: %s", s)
	}
}

func TestLoadConfigFileKeepsSecretsInFiles(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "worker.yaml")
	src := "project_id: p1\nregion: eu-west-101\nauth: {user: etl, domain: acme, password_file: " + pw + "}\n"
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(env(map[string]string{EnvConfigFile: file}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Auth.User != "etl" || cfg.Auth.Password.Reveal() != "s3cret" || cfg.ProjectID != "p1" {
		t.Errorf("config = %+v (password %q)", cfg, cfg.Auth.Password.Reveal())
	}
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("project: p1\n"), 0o600)
	if _, err := LoadConfig(env(map[string]string{EnvConfigFile: bad})); err == nil || !strings.Contains(err.Error(), "project") {
		t.Errorf("unknown field in config file: %v", err)
	}
}

func TestValidateSaysWhatIsMissing(t *testing.T) {
	err := Config{}.Validate()
	if err == nil {
		t.Fatal("empty config validated")
	}
	for _, want := range []string{"no endpoint for DLI", "no credentials"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	cfg := Config{Region: "r", Auth: AuthConfig{AK: "AK"}}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), EnvSK) {
		t.Errorf("AK without SK: %v", err)
	}
}

func TestRateLimits(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "worker.yaml")
	src := "region: r\nrate_limits: {cdm: 1, dli: 0}\n"
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadConfig(env(map[string]string{EnvConfigFile: file, EnvRateLimitPrefix + "DIS": "2.5", EnvRateLimitPrefix + "CDM": "0.5", EnvToken: "t"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	got := cfg.EffectiveRateLimits()
	// The environment overrides the file, the file the defaults; 0 lifts
	// a limit, and a service left out keeps its default.
	for svc, want := range map[string]float64{"cdm": 0.5, "dli": 0, "dis": 2.5, "dlf": DefaultRateLimits()["dlf"], "http": 0} {
		if got[svc] != want {
			t.Errorf("rate limit of %s = %v, want %v", svc, got[svc], want)
		}
	}
	if DefaultRateLimits()["cdm"] != 2 {
		t.Errorf("CDM's default is %v a second, want its documented 120 status queries a minute", DefaultRateLimits()["cdm"])
	}

	if _, err := LoadConfig(env(map[string]string{EnvRateLimitPrefix + "DLI": "fast"})); err == nil || !strings.Contains(err.Error(), "PIPECTL_RATE_LIMIT_DLI") {
		t.Errorf("a rate that is not a number: %v", err)
	}
	bad := Config{Region: "r", Auth: AuthConfig{User: "u", Password: cfg.Auth.Token}, RateLimits: map[string]float64{"dli": -1, "obs": 3}}
	err = bad.Validate()
	for _, want := range []string{`rate limit of dli is -1`, `unknown service "obs" in rate_limits`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/pipectl/pipectl/spec/expr"
)

// Secrets supplies the credentials that specs refer to as secret.NAME. The
// workflow only ever sees placeholders; activities resolve them here, at
// call time, so no credential enters workflow history.
type Secrets interface {
	Secret(ctx context.Context, name string) (string, error)
}

// EnvSecrets reads secret NAME from the environment variable
// PIPECTL_SECRET_<NAME> (upper-cased, '-' as '_'), or, when Dir is set,
// from the file Dir/NAME (as mounted by Kubernetes or Docker secrets).
type EnvSecrets struct {
	Dir    string
	Getenv func(string) string
}

var secretNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// Secret returns the named credential.
func (s EnvSecrets) Secret(_ context.Context, name string) (string, error) {
	if !secretNameRE.MatchString(name) {
		return "", fmt.Errorf("secret name %q is not valid", name)
	}
	getenv := s.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	env := "PIPECTL_SECRET_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	if v := getenv(env); v != "" {
		return v, nil
	}
	if s.Dir != "" {
		b, err := os.ReadFile(filepath.Join(s.Dir, name))
		if err == nil {
			return strings.TrimRight(string(b), "\r\n"), nil
		}
		if !os.IsNotExist(err) {
			return "", fmt.Errorf("secret %s: %w", name, err)
		}
	}
	where := env
	if s.Dir != "" {
		where += " or " + filepath.Join(s.Dir, name)
	}
	return "", fmt.Errorf("secret %s is not set on this worker (%s)", name, where)
}

// ResolveSecrets returns with (a step's input as JSON) with every
// ${secret.NAME} placeholder replaced by the credential. The result must
// only be used for the service call: never returned, logged or put into an
// error. A missing secret is a non-retryable error naming it.
func ResolveSecrets(ctx context.Context, with json.RawMessage, secrets Secrets) (json.RawMessage, error) {
	if !strings.Contains(string(with), "${secret.") {
		return with, nil
	}
	if secrets == nil {
		return nil, temporal.NewNonRetryableApplicationError("the step uses secrets but the worker has no secret source", ErrRequestRejected, nil)
	}
	var v any
	if err := json.Unmarshal(with, &v); err != nil {
		return nil, temporal.NewNonRetryableApplicationError("step input: "+err.Error(), ErrRequestRejected, nil)
	}
	var resolveErr error
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case string:
			out, err := expr.ResolveSecrets(x, func(name string) (string, error) { return secrets.Secret(ctx, name) })
			if err != nil && resolveErr == nil {
				resolveErr = err
			}
			return out
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
		case map[string]any:
			for k := range x {
				x[k] = walk(x[k])
			}
		}
		return v
	}
	v = walk(v)
	if resolveErr != nil {
		return nil, temporal.NewNonRetryableApplicationError(resolveErr.Error(), ErrRequestRejected, nil)
	}
	return json.Marshal(v)
}

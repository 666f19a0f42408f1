package engine

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pipectl/pipectl/activities/cloudapi"
)

// Environment variables read by ConfigFromEnv. They override the file.
const (
	EnvConfigFile = "PIPECTL_CONFIG"
	EnvProjectID  = "PIPECTL_PROJECT_ID"
	EnvRegion     = "PIPECTL_REGION"
	EnvToken      = "PIPECTL_IAM_TOKEN"
	EnvSecretsDir = "PIPECTL_SECRETS_DIR"
	// The official SDK's names for access keys.
	EnvAK            = "HUAWEICLOUD_SDK_AK"
	EnvSK            = "HUAWEICLOUD_SDK_SK"
	EnvSecurityToken = "HUAWEICLOUD_SDK_SECURITY_TOKEN"
	EnvIAMUser       = "PIPECTL_IAM_USER"
	EnvIAMDomain     = "PIPECTL_IAM_DOMAIN"
	EnvIAMPassword   = "PIPECTL_IAM_PASSWORD"
	// EnvEndpointPrefix + service name in upper case (PIPECTL_ENDPOINT_DLI)
	// overrides one service's endpoint.
	EnvEndpointPrefix = "PIPECTL_ENDPOINT_"
	// EnvRateLimitPrefix + service name in upper case
	// (PIPECTL_RATE_LIMIT_CDM=1.5) sets one service queue's activities
	// per second; 0 lifts the limit.
	EnvRateLimitPrefix = "PIPECTL_RATE_LIMIT_"
)

// Services whose endpoints a worker may be given, and those the step
// kinds it runs so far need.
var (
	services       = []string{"iam", "cdm", "dis", "dli", "lakeformation", "dlf"}
	neededServices = []string{"cdm", "dis", "dli", "lakeformation", "dlf"}
)

// Config is what a worker needs besides its Temporal connection: where the
// services are and how to authenticate. Credentials are held as
// cloudapi.Secret so that logging a Config never shows them.
type Config struct {
	ProjectID string            `yaml:"project_id"`
	Region    string            `yaml:"region"`
	Endpoints map[string]string `yaml:"endpoints"`
	// SecretsDir holds one file per secret (secret.NAME reads SecretsDir/NAME);
	// PIPECTL_SECRET_<NAME> variables are read first.
	SecretsDir string `yaml:"secrets_dir"`
	// RateLimits caps each service queue's activities per second (one
	// per submit or status check), all workers together. A service left
	// out gets its DefaultRateLimits value; 0 means no limit.
	RateLimits map[string]float64 `yaml:"rate_limits"`
	Auth       AuthConfig         `yaml:"-"`
}

// DefaultRateLimits are the activities per second each service queue
// allows by default, for all workers together. An activity makes one or
// two calls (a submit and the first status check, or one check). CDM's
// follow its documented per-user quotas (DAYU Table 2-1): 120 status
// queries a minute is 2 a second. The other services document none;
// these are judgements a tenth or less of what their API gateways are
// known to take, high enough for hundreds of concurrent jobs at the
// default poll cap. Raise them in the config when the account's quotas
// allow.
func DefaultRateLimits() map[string]float64 {
	return map[string]float64{
		"cdm":           2,
		"dli":           10,
		"dis":           10,
		"dlf":           10,
		"lakeformation": 10,
		"http":          0, // user endpoints: their owners' limits are unknown
	}
}

// EffectiveRateLimits are the activities per second of each service
// queue: DefaultRateLimits with the configured values on top (0: none).
func (c Config) EffectiveRateLimits() map[string]float64 { return c.rateLimits() }

// rateLimits is DefaultRateLimits with the configured values on top.
func (c Config) rateLimits() map[string]float64 {
	limits := DefaultRateLimits()
	maps.Copy(limits, c.RateLimits)
	return limits
}

// AuthConfig holds the credentials. It is filled from the environment or
// from files named in the config file, never from the config file itself,
// so a config file can be committed.
type AuthConfig struct {
	// AK/SK signing (SDK-HMAC-SHA256), with an optional security token
	// for temporary credentials. Preferred when set: no token to fetch.
	AK            string
	SK            cloudapi.Secret
	SecurityToken cloudapi.Secret
	// An IAM token obtained elsewhere, or an IAM user whose password
	// obtains one.
	Token    cloudapi.Secret
	User     string
	Domain   string
	Password cloudapi.Secret
}

// fileConfig is the config file's shape.
type fileConfig struct {
	Config `yaml:",inline"`
	Auth   struct {
		AK           string `yaml:"ak"`
		SKFile       string `yaml:"sk_file"`
		TokenFile    string `yaml:"token_file"`
		User         string `yaml:"user"`
		Domain       string `yaml:"domain"`
		PasswordFile string `yaml:"password_file"`
	} `yaml:"auth"`
}

// LoadConfig reads the config file named by PIPECTL_CONFIG, if any, then
// applies the PIPECTL_* environment on top.
func LoadConfig(getenv func(string) string) (Config, error) {
	var cfg Config
	if path := getenv(EnvConfigFile); path != "" {
		var err error
		if cfg, err = LoadConfigFile(path); err != nil {
			return cfg, err
		}
	}
	set := func(dst *string, env string) {
		if v := getenv(env); v != "" {
			*dst = v
		}
	}
	set(&cfg.ProjectID, EnvProjectID)
	set(&cfg.Region, EnvRegion)
	set(&cfg.SecretsDir, EnvSecretsDir)
	set(&cfg.Auth.User, EnvIAMUser)
	set(&cfg.Auth.Domain, EnvIAMDomain)
	if v := getenv(EnvToken); v != "" {
		cfg.Auth.Token = cloudapi.NewSecret(v)
	}
	set(&cfg.Auth.AK, EnvAK)
	if v := getenv(EnvSK); v != "" {
		cfg.Auth.SK = cloudapi.NewSecret(v)
	}
	if v := getenv(EnvSecurityToken); v != "" {
		cfg.Auth.SecurityToken = cloudapi.NewSecret(v)
	}
	if v := getenv(EnvIAMPassword); v != "" {
		cfg.Auth.Password = cloudapi.NewSecret(v)
	}
	for _, s := range slices.Sorted(maps.Keys(DefaultRateLimits())) {
		v := getenv(EnvRateLimitPrefix + strings.ToUpper(s))
		if v == "" {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return cfg, fmt.Errorf("worker config: %s%s=%q: want activities per second, a number", EnvRateLimitPrefix, strings.ToUpper(s), v)
		}
		if cfg.RateLimits == nil {
			cfg.RateLimits = map[string]float64{}
		}
		cfg.RateLimits[s] = f
	}
	for _, s := range services {
		if v := getenv(EnvEndpointPrefix + strings.ToUpper(s)); v != "" {
			if cfg.Endpoints == nil {
				cfg.Endpoints = map[string]string{}
			}
			cfg.Endpoints[s] = v
		}
	}
	return cfg, nil
}

// LoadConfigFile reads a worker config file (YAML).
func LoadConfigFile(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("worker config: %w", err)
	}
	var fc fileConfig
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil {
		return Config{}, fmt.Errorf("worker config %s: %w", path, err)
	}
	cfg := fc.Config
	cfg.Auth.User, cfg.Auth.Domain, cfg.Auth.AK = fc.Auth.User, fc.Auth.Domain, fc.Auth.AK
	read := func(file string) (cloudapi.Secret, error) {
		if file == "" {
			return cloudapi.Secret{}, nil
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return cloudapi.Secret{}, fmt.Errorf("worker config %s: %w", path, err)
		}
		return cloudapi.NewSecret(strings.TrimSpace(string(b))), nil
	}
	if cfg.Auth.SK, err = read(fc.Auth.SKFile); err != nil {
		return Config{}, err
	}
	if cfg.Auth.Token, err = read(fc.Auth.TokenFile); err != nil {
		return Config{}, err
	}
	if cfg.Auth.Password, err = read(fc.Auth.PasswordFile); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Endpoint returns the base URL of a service: the configured one, else the
// public endpoint of the configured region.
func (c Config) Endpoint(service string) string {
	if e := c.Endpoints[service]; e != "" {
		return e
	}
	if c.Region == "" {
		return ""
	}
	host := service
	if service == "dlf" {
		host = "dayu-dlf" // DataArts Studio's job API
	}
	return "https://" + host + "." + c.Region + ".myhuaweicloud.com"
}

// Validate reports what is missing for the worker to call the services.
func (c Config) Validate() error {
	var errs []error
	needed := neededServices
	if c.Auth.User != "" {
		needed = append([]string{"iam"}, needed...)
	}
	for _, s := range needed {
		if c.Endpoint(s) == "" {
			errs = append(errs, fmt.Errorf("no endpoint for %s: set %s or %s%s", strings.ToUpper(s), EnvRegion, EnvEndpointPrefix, strings.ToUpper(s)))
		}
	}
	for s := range c.Endpoints {
		if !slices.Contains(services, s) {
			errs = append(errs, fmt.Errorf("unknown service %q in endpoints (known: %s)", s, strings.Join(services, ", ")))
		}
	}
	defaults := DefaultRateLimits()
	for _, s := range slices.Sorted(maps.Keys(c.RateLimits)) {
		v := c.RateLimits[s]
		if _, ok := defaults[s]; !ok {
			errs = append(errs, fmt.Errorf("unknown service %q in rate_limits (known: %s)", s, strings.Join(slices.Sorted(maps.Keys(defaults)), ", ")))
		} else if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			errs = append(errs, fmt.Errorf("rate limit of %s is %v: want activities per second, 0 or more (0: no limit)", s, v))
		}
	}
	if c.Auth.AK == "" && c.Auth.Token.IsZero() && c.Auth.User == "" {
		errs = append(errs, fmt.Errorf("no credentials: set %s and %s, or %s, or %s, %s and %s", EnvAK, EnvSK, EnvToken, EnvIAMUser, EnvIAMDomain, EnvIAMPassword))
	}
	if c.Auth.AK != "" && c.Auth.SK.IsZero() {
		errs = append(errs, fmt.Errorf("access key %s has no secret key: set %s", c.Auth.AK, EnvSK))
	}
	if c.Auth.User != "" && c.Auth.Password.IsZero() {
		errs = append(errs, fmt.Errorf("IAM user %q has no password: set %s", c.Auth.User, EnvIAMPassword))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("worker config: %w", err)
	}
	return nil
}

package planner

import "testing"

func TestCredentialKey(t *testing.T) {
	for key, want := range map[string]bool{
		"password":                     true,
		"linkConfig.password":          true,
		"user_password":                true, // DIS DWS dump tasks
		"db-password":                  true,
		"passwd":                       true,
		"pwd":                          true,
		"sk":                           true,
		"securityKey":                  true,
		"secret_key":                   true, // LakeFormation data sources
		"client_secret":                true,
		"token":                        true,
		"X-Auth-Token":                 true,
		"access_token":                 true,
		"Authorization":                true,
		"X-Api-Key":                    true,
		"private_key":                  true,
		"task":                         false,
		"ask":                          false,
		"access_key":                   false, // an AK is an identifier; its shape is checked instead
		"kms_user_key_name":            false,
		"user_name":                    false,
		"tokenizer":                    false,
		"fromJobConfig.whereClause":    false,
		"retryJobConfig.retryJobType":  false,
		"throttlingConfig.numLoaders":  false,
		"partition_format":             false,
		"password_policy.min_length.x": false,
	} {
		if got := credentialKey(key); got != want {
			t.Errorf("credentialKey(%q) = %t, want %t", key, got, want)
		}
	}
}

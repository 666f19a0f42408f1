package cdm_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/pipectl/pipectl/activities/cdm"
	"github.com/pipectl/pipectl/activities/cloudapi"
)

// recorded is what a stub server saw of the last request.
type recorded struct {
	method, path, query, body, language string
}

// stubClient returns a client of a server that answers every request with
// status and body.
func stubClient(t *testing.T, status int, body string) (*cdm.Client, *recorded) {
	t.Helper()
	rec := &recorded{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*rec = recorded{r.Method, r.URL.Path, r.URL.RawQuery, string(b), r.Header.Get("X-Language")}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return cdm.NewClient(srv.URL, srv.Client()), rec
}

func apiError(t *testing.T, err error) *cloudapi.Error {
	t.Helper()
	var apiErr *cloudapi.Error
	require.True(t, errors.As(err, &apiErr), "%T %v is not a cloudapi.Error", err, err)
	return apiErr
}

func TestClientCreateAndExecute(t *testing.T) {
	// The sample's answer: "submisson-id" and a string creation-date.
	c, rec := stubClient(t, 200, `{"submissions":[{"isIncrementing":false,"job-name":"obs2rds","submisson-id":13,"isStopingIncrement":"","last-update-date":1635909843014,"is-execute-auto":false,"creation-user":"cdm","creation-date":"1635909843014","progress":"0.0","status":"PENDING"}]}`)
	sub, err := c.CreateAndExecuteJob(context.Background(), "p1", []string{"c1", "c2"}, cdm.Job{
		JobType: "NORMAL_JOB", Name: "obs2rds",
		FromConnectorName: "obs-connector", FromLinkName: "obs", ToConnectorName: "generic-jdbc-connector", ToLinkName: "rds",
		FromConfigValues: cdm.ConfigValues{Configs: []cdm.Config{{Name: "fromJobConfig", Inputs: cdm.Inputs{{Name: "fromJobConfig.bucketName", Value: "b"}}}}},
		ToConfigValues:   cdm.ConfigValues{Configs: []cdm.Config{{Name: "toJobConfig"}}},
	})
	require.NoError(t, err)
	assert.Equal(t, int64(13), sub.ID())
	assert.Equal(t, "PENDING", sub.Status)
	assert.Equal(t, http.MethodPost, rec.method)
	assert.Equal(t, "/v1.1/p1/clusters/job", rec.path)
	assert.Equal(t, "en-us", rec.language, "X-Language is mandatory here")
	assert.JSONEq(t, `{"jobs":[{"job_type":"NORMAL_JOB","name":"obs2rds",
		"from-connector-name":"obs-connector","to-connector-name":"generic-jdbc-connector",
		"from-link-name":"obs","to-link-name":"rds",
		"from-config-values":{"configs":[{"name":"fromJobConfig","inputs":[{"name":"fromJobConfig.bucketName","value":"b"}]}]},
		"to-config-values":{"configs":[{"name":"toJobConfig","inputs":[]}]},
		"driver-config-values":{"configs":[]}}],
		"clusters":["c1","c2"]}`, rec.body)
}

func TestClientJobStatus(t *testing.T) {
	c, rec := stubClient(t, 200, `{"submissions":[{"job-name":"j","submission-id":"7","status":"SUCCEEDED","progress":0,
		"counters":{"org.apache.sqoop.submission.counter.SqoopCounters":{"BYTES_WRITTEN":-1,"ROWS_READ":80,"ROWS_WRITTEN":"80"}}}]}`)
	st, err := c.JobStatus(context.Background(), "p1", "c1", "j")
	require.NoError(t, err)
	assert.Equal(t, "/v1.1/p1/clusters/c1/cdm/job/j/status", rec.path)
	assert.Equal(t, http.MethodGet, rec.method)
	assert.Equal(t, int64(7), st.ID())
	for name, want := range map[string]int64{"BYTES_WRITTEN": -1, "ROWS_READ": 80, "ROWS_WRITTEN": 80} {
		got, ok := st.Counter(name)
		assert.True(t, ok, name)
		assert.Equal(t, want, got, name)
	}
	_, ok := st.Counter("FILES_READ")
	assert.False(t, ok)

	c, _ = stubClient(t, 200, `{"submissions":[]}`)
	_, err = c.JobStatus(context.Background(), "p1", "c1", "j")
	assert.Equal(t, "CDM query job status: HTTP 200: the answer holds no submission", err.Error())
}

func TestClientFindJobReadsBothInputShapes(t *testing.T) {
	c, rec := stubClient(t, 200, `{"total":1,"jobs":[{"name":"j","job_type":"NORMAL_JOB","from-link-name":"a",
		"from-config-values":{"configs":[{"name":"fromJobConfig","inputs":[
			{"name":"fromJobConfig.useSql","value":false},{"name":"fromJobConfig.port","values":"22"},{"name":"fromJobConfig.n","value":3}]}]},
		"to-config-values":{"configs":[{"name":"toJobConfig","inputs":{}}]}}]}`)
	job, err := c.FindJob(context.Background(), "p1", "c 1", "j")
	require.NoError(t, err)
	assert.Equal(t, "/v1.1/p1/clusters/c 1/cdm/job/j", rec.path)
	assert.Equal(t, map[string]string{"fromJobConfig.useSql": "false", "fromJobConfig.port": "22", "fromJobConfig.n": "3"}, job.FromConfigValues.Flatten())
	assert.Empty(t, job.ToConfigValues.Flatten())
}

func TestClientMissingIsNil(t *testing.T) {
	c, _ := stubClient(t, 500, `{"errCode":"Cdm.0100","externalMessage":"Job[j] doesn't exist."}`)
	job, err := c.FindJob(context.Background(), "p1", "c1", "j")
	require.NoError(t, err)
	assert.Nil(t, job)

	c, _ = stubClient(t, 500, `{"errCode":"Cdm.0101","externalMessage":"Link [l] does not exist."}`)
	link, err := c.FindLink(context.Background(), "p1", "c1", "l")
	require.NoError(t, err)
	assert.Nil(t, link)
}

func TestClientDefiniteCodes(t *testing.T) {
	for _, tc := range []struct {
		status     int
		body       string
		wantStatus int
		want       string
	}{
		// Documented as 400, sent as 500: final.
		{500, `{"errCode":"Cdm.0100","externalMessage":"Job[j] doesn't exist."}`, 400, "CDM stop job: HTTP 400 Cdm.0100: Job[j] doesn't exist."},
		{500, `{"errCode":"Cdm.0021","externalMessage":"Given link name is in use"}`, 400, "CDM stop job: HTTP 400 Cdm.0021: Given link name is in use"},
		// A system error stays a server error.
		{500, `{"errCode":"Cdm.0000","externalMessage":"System error."}`, 500, "CDM stop job: HTTP 500 Cdm.0000: System error."},
		{400, `{"errCode":"Cdm.0053","externalMessage":"Job j is not running."}`, 400, "CDM stop job: HTTP 400 Cdm.0053: Job j is not running."},
	} {
		c, rec := stubClient(t, tc.status, tc.body)
		_, err := c.StopJob(context.Background(), "p1", "c1", "j")
		apiErr := apiError(t, err)
		assert.Equal(t, tc.wantStatus, apiErr.Status)
		assert.Equal(t, tc.want, apiErr.Error())
		assert.Equal(t, http.MethodPut, rec.method)
		assert.Equal(t, "/v1.1/p1/clusters/c1/cdm/job/j/stop", rec.path)
	}
	_, err := (&cdm.Client{API: &cloudapi.Client{Service: "CDM", BaseURL: "http://127.0.0.1:1"}}).StopJob(context.Background(), "p", "c", "j")
	assert.False(t, cdm.HasCode(err, cdm.CodeNoJob))
}

func TestClientLinkValidation(t *testing.T) {
	const msg = "Can't connect to the server: Connection refused"
	c, rec := stubClient(t, 500, `{"validation-result":[{"linkConfig":[{"message":"`+msg+`","status":"ERROR"}]}]}`)
	err := c.CreateLink(context.Background(), "p1", "c1", cdm.Link{Name: "l", ConnectorName: "generic-jdbc-connector", Enabled: true,
		LinkConfigValues: cdm.ConfigValues{Configs: []cdm.Config{{Name: "linkConfig", Inputs: cdm.Inputs{{Name: "linkConfig.password", Value: "pw"}}}}}})
	apiErr := apiError(t, err)
	assert.Equal(t, 500, apiErr.Status)
	assert.Equal(t, "CDM create link: HTTP 500: "+msg, apiErr.Error())
	assert.Equal(t, "/v1.1/p1/clusters/c1/cdm/link", rec.path)
	assert.JSONEq(t, `{"links":[{"name":"l","connector-name":"generic-jdbc-connector","enabled":true,
		"link-config-values":{"configs":[{"name":"linkConfig","inputs":[{"name":"linkConfig.password","value":"pw"}]}]}}]}`, rec.body)

	// A 200 with ERROR entries refuses too; WARNINGs and {} do not.
	c, _ = stubClient(t, 200, `{"name":"j","validation-result":[{"message":"no such table","status":"ERROR"},{"message":"slow","status":"WARNING"}]}`)
	err = c.CreateJob(context.Background(), "p1", "c1", cdm.Job{Name: "j"})
	assert.Equal(t, "CDM create job: HTTP 200: no such table", err.Error())
	c, _ = stubClient(t, 200, `{"name":"j","validation-result":[{},{"message":"slow","status":"WARNING"}]}`)
	require.NoError(t, c.CreateJob(context.Background(), "p1", "c1", cdm.Job{Name: "j"}))
}

func TestClientHistory(t *testing.T) {
	c, rec := stubClient(t, 200, `{"submissions":[{"job-name":"j","submission-id":9,"status":"RUNNING"},{"job-name":"j","submission-id":8,"status":"FAILED","error-summary":"boom"}],"total":2,"page_no":1,"page_size":10}`)
	subs, err := c.History(context.Background(), "p1", "c1", "j k")
	require.NoError(t, err)
	require.Len(t, subs, 2)
	assert.Equal(t, int64(8), subs[1].ID())
	assert.Equal(t, "boom", subs[1].ErrorSummary)
	assert.Equal(t, "/v1.1/p1/clusters/c1/cdm/submissions", rec.path)
	assert.Equal(t, "jname=j+k", rec.query)
}

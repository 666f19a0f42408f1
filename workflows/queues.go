package workflows

import "strings"

// changeRunActivity is the workflow.GetVersion change id of running a
// step's job as one activity on its service's task queue. Runs started
// before it call submit and wait on TaskQueue and keep doing so.
const changeRunActivity = "run-activity"

// ServiceQueue is the task queue of a step kind's activities: one per
// service ("pipectl-dli" for dli.sql, dli.spark, …), so that a worker can
// cap each queue's activities per second at the service's quota and the
// server holds every worker to it together. The pipeline workflows stay on
// TaskQueue.
func ServiceQueue(kind string) string {
	service, _, _ := strings.Cut(kind, ".")
	return TaskQueue + "-" + service
}

package devserver

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// serverLogger adapts slog to the server's logger interface, dropping records
// below level: the server logs every shard and membership change at Info.
type serverLogger struct {
	l     *slog.Logger
	level *slog.LevelVar
	fatal *fatalRecord
}

// fatalRecord keeps the first Fatal the server logged. The server's own
// logger would exit the process, and the code after a Fatal assumes it
// did (a listener it could not open is nil and is used next). So while
// the server is being built, Fatal panics with a fatalPanic that
// buildServer recovers; afterwards it is only recorded and logged.
type fatalRecord struct {
	mu       sync.Mutex
	msg      string
	starting bool
}

// fatalPanic is what Fatal panics with while the server is built.
type fatalPanic struct{ msg string }

func (f *fatalRecord) setStarting(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.starting = v
}

func (f *fatalRecord) isStarting() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.starting
}

func (f *fatalRecord) set(msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.msg == "" {
		f.msg = msg
	}
}

func (f *fatalRecord) get() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.msg
}

var _ log.Logger = serverLogger{}

func newServerLogger(l *slog.Logger, level *slog.LevelVar) serverLogger {
	return serverLogger{l: l.With("component", "temporal"), level: level, fatal: &fatalRecord{}}
}

func (s serverLogger) log(level slog.Level, msg string, tags []tag.Tag) {
	if level < s.level.Level() {
		return
	}
	attrs := make([]slog.Attr, 0, len(tags))
	for _, t := range tags {
		attrs = append(attrs, slog.Any(t.Key(), t.Value()))
	}
	s.l.LogAttrs(context.Background(), level, msg, attrs...)
}

func (s serverLogger) Debug(msg string, tags ...tag.Tag)  { s.log(slog.LevelDebug, msg, tags) }
func (s serverLogger) Info(msg string, tags ...tag.Tag)   { s.log(slog.LevelInfo, msg, tags) }
func (s serverLogger) Warn(msg string, tags ...tag.Tag)   { s.log(slog.LevelWarn, msg, tags) }
func (s serverLogger) Error(msg string, tags ...tag.Tag)  { s.log(slog.LevelError, msg, tags) }
func (s serverLogger) DPanic(msg string, tags ...tag.Tag) { s.log(slog.LevelError, msg, tags) }
func (s serverLogger) Panic(msg string, tags ...tag.Tag)  { s.log(slog.LevelError, msg, tags) }
func (s serverLogger) Fatal(msg string, tags ...tag.Tag) {
	s.log(slog.LevelError, msg, tags)
	text := msg
	for _, t := range tags {
		text += fmt.Sprintf(" %s=%v", t.Key(), t.Value())
	}
	s.fatal.set(text)
	if s.fatal.isStarting() {
		panic(fatalPanic{msg: text})
	}
}

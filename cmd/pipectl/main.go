// Command pipectl validates, plans and runs declarative data pipelines on
// Temporal. See the README for a tour.
package main

import (
	"context"
	"os"

	"github.com/pipectl/pipectl/internal/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], cli.StdIO()))
}

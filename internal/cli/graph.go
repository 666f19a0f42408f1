package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/pipectl/pipectl/planner"
)

func newGraphCmd(stdio IO) *cobra.Command {
	cf := &compileFlags{}
	format := "mermaid"
	cmd := &cobra.Command{
		Use:   "graph FILE",
		Short: "Print a spec's DAG as Mermaid or Graphviz DOT",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "mermaid" && format != "dot" {
				return fmt.Errorf("--format %q: use mermaid or dot", format)
			}
			opts, err := cf.options()
			if err != nil {
				return err
			}
			opts.AllowUnsetParams = true // the graph needs no values
			plan, err := compileFile(stdio, args[0], opts)
			if err != nil {
				return err
			}
			if format == "dot" {
				fmt.Fprint(stdio.Out, plan.DOT())
			} else {
				fmt.Fprint(stdio.Out, plan.Mermaid())
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", format, "mermaid or dot")
	cf.add(cmd)
	return cmd
}

func newSchemaCmd(stdio IO) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of spec files, for editors",
		Long: `Prints a JSON Schema (draft 2020-12) of pipeline specs, generated from the
same table of step kinds the planner uses. Point your editor at it, e.g. with
a first line "# yaml-language-server: $schema=pipeline.schema.json".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := planner.JSONSchema()
			if err != nil {
				return err
			}
			_, err = stdio.Out.Write(append(b, '\n'))
			return err
		},
	}
}

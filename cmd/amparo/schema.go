package main

import (
	"fmt"
	"io"

	"amparo/graph"
)

// schemaCmd prints the merged GraphQL schema (SDL, with descriptions), for
// code generators and editors that work offline.
func schemaCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		fmt.Fprint(stderr, "usage: amparo schema\n")
		return exitError(2)
	}
	_, err := io.WriteString(stdout, graph.SDL())
	return err
}

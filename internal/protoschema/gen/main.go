// Command gen writes the protocol's JSON Schema to the file named by its
// argument (go generate ./internal/protoschema).
package main

import (
	"fmt"
	"os"

	"github.com/termcall/termcall/internal/protoschema"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gen FILE")
		os.Exit(2)
	}
	b, err := protoschema.Generate()
	if err == nil {
		err = os.WriteFile(os.Args[1], b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

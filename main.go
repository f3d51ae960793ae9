// Command termcall is a terminal softphone implementing the
// TUICallKit/TUICallEngine call model, with its own call server.
package main

import (
	"os"

	"github.com/termcall/termcall/cmd"
)

func main() {
	os.Exit(cmd.Execute())
}

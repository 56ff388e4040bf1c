// This file only keeps web/ out of the amparo Go module: some npm packages
// ship .go files under node_modules, which `go build ./...` and `go vet ./...`
// would otherwise try to compile.
module amparo/web-not-go

module github.com/benchd/benchd/certs

go 1.23

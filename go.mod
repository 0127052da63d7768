module github.com/benchd/benchd

go 1.26

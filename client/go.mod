module github.com/benchd/benchd/client

go 1.23

require (
	github.com/benchd/benchd/certs v0.0.0-00010101000000-000000000000
	github.com/benchd/benchd/proto v0.0.0-00010101000000-000000000000
	google.golang.org/grpc v1.64.1
	google.golang.org/protobuf v1.36.12
)

require (
	buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go v1.36.12-20260825204119-511051f7f437.2 // indirect
	golang.org/x/net v0.26.0 // indirect
	golang.org/x/sys v0.21.0 // indirect
	golang.org/x/text v0.16.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20240318140521-94a12d6c2237 // indirect
)

// Until proto and certs are tagged: the client is developed beside them.
replace (
	github.com/benchd/benchd/certs => ../certs
	github.com/benchd/benchd/proto => ../proto
)

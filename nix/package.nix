# benchd and benchctl.
#
# go.mod asks for Go 1.26.7 or newer; nixpkgs' Go 1.26 toolchain must be at
# least that patch release (GOTOOLCHAIN=local in the sandbox, so Go cannot
# fetch a newer one and fails with "go.mod requires go >= ...").
{
  lib,
  stdenv,
  buildGo126Module,
  installShellFiles,
  # The source's VCS revision (the flake passes self.rev or self.dirtyRev):
  # the Nix sandbox builds from a tree without .git, so Go cannot read it.
  rev ? null,
}:
buildGo126Module rec {
  pname = "benchd";
  version = "0.1.0";

  # Only what `go build` reads: every go.mod and go.sum (proto/, certs/ and
  # client/ are modules of their own, replaced by their directories in
  # go.mod) and the non-test Go files. Keeping tests out also keeps
  # test-only dependencies out of vendorHash.
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      (lib.fileset.fileFilter (f: f.name == "go.mod" || f.name == "go.sum") ../.)
      (lib.fileset.fileFilter (f: f.hasExt "go" && !(lib.hasSuffix "_test.go" f.name)) ../.)
    ];
  };

  # The hash of `go mod vendor` run on the source above (nixpkgs' goModules
  # step). internal/e2e TestVendorHash recomputes it the same way (go mod
  # vendor + nix-hash) and fails with the new value when go.mod/go.sum or the
  # imports change; a real `nix build` reports "hash mismatch ... got: sha256-..."
  # with the value to put here if the two ever disagree.
  vendorHash = "sha256-TedrfkEB+OqUm1JgFdluAj5zKb+T+/9eLLa5HIBs/Yw=";

  subPackages = [
    "cmd/benchd"
    "cmd/benchctl"
  ];

  nativeBuildInputs = [ installShellFiles ];

  # benchctl writes its completions and man pages from its own command
  # definitions, so they need a benchctl that runs on the build machine.
  postInstall = lib.optionalString (stdenv.buildPlatform.canExecute stdenv.hostPlatform) ''
    installShellCompletion --cmd benchctl \
      --bash <($out/bin/benchctl completion bash) \
      --fish <($out/bin/benchctl completion fish) \
      --zsh <($out/bin/benchctl completion zsh)
    $out/bin/benchctl man man
    installManPage man/*.1
  '';

  env.CGO_ENABLED = 0;
  # grpc-go's /debug/requests tracing (golang.org/x/net/trace) is never
  # enabled, but without this tag it links html/template, whose reflective
  # method calls keep every exported method of every type in the binary:
  # 24.8 → 19.4 MB, and ≈ 3 MiB less of it resident in a running benchd.
  # internal/testrig builds with this file's tags and ldflags.
  tags = [ "grpcnotrace" ];
  # `benchd --version`, each benchmark's machine info and the health
  # check's benchd-version header show "v0.1.0+<rev>" (internal/buildinfo;
  # cmd/benchd TestStampedVersion builds the same way).
  ldflags = [
    "-s"
    "-w"
    "-X github.com/benchd/benchd/internal/buildinfo.version=v${version}"
  ]
  ++ lib.optional (rev != null) "-X github.com/benchd/benchd/internal/buildinfo.revision=${rev}";

  # The tests need Docker and the ollama rig (testdata/rig); .ci/run runs
  # them. The sandbox has neither.
  doCheck = false;

  meta = {
    description = "Benchmark daemon: a narrow gRPC API on a unix socket, the only process talking to Docker";
    homepage = "https://github.com/benchd/benchd";
    mainProgram = "benchd";
    platforms = lib.platforms.linux;
  };
}

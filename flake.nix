{
  description = "benchd: benchmark LLMs in an ollama container through a narrow gRPC API on a unix socket";

  # nixos-unstable: buildGo126Module with Go >= 1.26.7 (go.mod). `nix flake
  # lock` (or the first `nix build`) writes flake.lock; commit it.
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      packages = forAllSystems (pkgs: rec {
        benchd = pkgs.callPackage ./nix/package.nix { rev = self.rev or self.dirtyRev or null; };
        default = benchd;
      });

      # services.benchd; see nix/README.md.
      nixosModules.default =
        { lib, pkgs, ... }:
        {
          imports = [ ./nix/module.nix ];
          services.benchd.package = lib.mkDefault (
            self.packages.${pkgs.stdenv.hostPlatform.system}.default or (pkgs.callPackage ./nix/package.nix { })
          );
        };
      nixosModules.benchd = self.nixosModules.default;
    };
}

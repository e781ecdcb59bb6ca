{
  description = "ai-stack: self-hosted retrieval and memory stack for AI coding agents (NixOS module and package)";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";

  outputs =
    { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      # Python with the package's dependencies and the test tools: the dev shell's and the checks'.
      testPython =
        pkgs:
        pkgs.python311.withPackages (
          ps:
          self.packages.${pkgs.system}.default.propagatedBuildInputs
          ++ [ ps.pytest ps.pytest-asyncio ps.pytest-aiohttp ps.pytest-timeout ps.hypothesis ]
        );
    in
    {
      packages = forSystems (pkgs: {
        default = pkgs.callPackage ./nix/package.nix { };
      });

      nixosModules.default = import ./nix/module.nix;

      devShells = forSystems (pkgs: {
        default = pkgs.mkShell {
          packages = [
            (testPython pkgs)
            pkgs.postgresql
            pkgs.redis
            pkgs.nginx
            pkgs.ruff
            pkgs.mypy
            pkgs.nix
          ];
          shellHook = ''
            export PYTHONPATH="$PWD/ai-stack/src''${PYTHONPATH:+:$PYTHONPATH}"
            export HF_HUB_OFFLINE=1
          '';
        };
      });

      # The unit tests against the package's dependencies, offline, in the build sandbox.
      checks = forSystems (pkgs: {
        unit =
          pkgs.runCommand "ai-stack-unit-tests"
            {
              nativeBuildInputs = [
                (testPython pkgs)
                pkgs.nix
              ];
              src = ./.;
            }
            ''
              cp -r $src source && chmod -R u+w source && cd source
              export HOME=$TMPDIR HF_HUB_OFFLINE=1 PYTHONPATH=$PWD/ai-stack/src
              python -m pytest -q -p no:cacheprovider tests/unit
              touch $out
            '';
      });
    };
}

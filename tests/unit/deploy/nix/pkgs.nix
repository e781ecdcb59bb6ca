# Stand-ins for the packages nix/module.nix and flake.nix name: derivation-shaped attrsets (type,
# name, outPath), never built. A script's outPath carries its text after `#`, so the tests can
# read what a unit would run.
let
  drv = name: {
    type = "derivation";
    inherit name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
  };
  python = drv "python3-3.11" // {
    withPackages = f: drv "python3-3.11-env";
    pkgs = { };
  };
in
{
  inherit drv;
  callPackage = _fn: _args: drv "ai-stack-0.1.0" // { propagatedBuildInputs = [ ]; };
  writeShellScript = name: text: drv name // { outPath = "/nix/store/stub-${name}#${text}"; };
  mkShell = args: drv "nix-shell" // { inherit (args) packages; };
  runCommand = name: _env: _script: drv name;
  python311 = python;
  nginx = drv "nginx";
  mailcap = drv "mailcap";
  systemd = drv "systemd";
  postgresql = drv "postgresql";
  redis = drv "redis";
  jemalloc = drv "jemalloc";
  ruff = drv "ruff";
  mypy = drv "mypy";
  nix = drv "nix";
}

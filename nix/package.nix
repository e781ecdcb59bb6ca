# The ai-stack Python application, built from ./ai-stack with python311.
#
# nixos-24.11 carries older releases than the exact pins of ai-stack/pyproject.toml (torch 2.5
# against 2.13, numpy 1.26 against 2.4, pydantic 2.9 against 2.14, …): pythonRelaxDeps drops the
# pins and the nixpkgs versions are used. The packages nixpkgs 24.11 does not have are taken as
# wheels from PyPI at the pinned versions (./python-wheels.nix). This file has been parsed, never
# built: see docs/NIXOS.md for what was and was not checked.
{
  lib,
  stdenv,
  python311,
  makeWrapper,
  fetchPypi,
  autoPatchelfHook,
}:
let
  python = python311;
  ps = python.pkgs;
  wheels = import ./python-wheels.nix {
    inherit lib stdenv fetchPypi autoPatchelfHook;
    pythonPackages = ps;
  };
in
ps.buildPythonApplication {
  pname = "ai-stack";
  version = "0.1.0";
  pyproject = true;
  src = lib.cleanSource ../ai-stack;

  build-system = [ ps.setuptools ];
  nativeBuildInputs = [ makeWrapper ];

  # Every pin is exact (==) in pyproject.toml; the nixpkgs versions differ (see the header).
  pythonRelaxDeps = true;

  dependencies = [
    ps.aiohttp
    ps.asyncpg
    ps.redis
    ps.qdrant-client
    ps.sentence-transformers
    ps.transformers
    ps.torch
    ps.numpy
    ps.orjson
    ps.tokenizers
    ps.pystemmer
    ps.mmh3
    ps.prometheus-client
    ps.structlog
    ps.opentelemetry-sdk
    ps.opentelemetry-exporter-otlp
    ps.opentelemetry-instrumentation-aiohttp-client
    ps.opentelemetry-instrumentation-redis
    ps.opentelemetry-instrumentation-asgi
    ps.pydantic
    ps.pydantic-settings
    ps.rich
    ps.pathspec
    ps.httpx
    ps.markdown-it-py
    ps.docutils
    ps.starlette
    ps.uvicorn
    ps.pyyaml
  ]
  ++ builtins.attrValues wheels;

  # The services are started as `python -m ai_stack.<service>` (nix/module.nix): an interpreter
  # that sees this package and every dependency (the build's PYTHONPATH holds them all).
  postInstall = ''
    makeWrapper ${python.interpreter} $out/bin/python \
      --prefix PYTHONPATH : "$out/${python.sitePackages}:$PYTHONPATH"
  '';

  # The unit tests run in the flake's `checks.<system>.unit` (they need the test extras).
  doCheck = false;
  pythonImportsCheck = [ "ai_stack.registry" ];

  passthru = { inherit python wheels; };

  meta = {
    description = "Self-hosted retrieval and memory stack for AI coding agents";
    mainProgram = "ai-stack";
    platforms = [ "x86_64-linux" "aarch64-linux" ];
  };
}

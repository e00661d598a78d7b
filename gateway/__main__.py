"""`python -m gateway`: the same CLI as the `medusa-graphql-gateway` console script."""

from gateway.cli import main

raise SystemExit(main())

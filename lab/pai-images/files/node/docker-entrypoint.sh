#!/bin/sh
# Entrypoint of the node image family (as in the official node images): a first argument that is
# a flag, or that is no command on PATH, is run by node.
set -e
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}" 2>/dev/null)" ]; then
  set -- node "$@"
fi
exec "$@"

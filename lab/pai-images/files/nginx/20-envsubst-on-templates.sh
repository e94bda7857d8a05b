#!/bin/sh
# As in the official nginx image: every $NGINX_ENVSUBST_TEMPLATE_DIR/*.template (default
# /etc/nginx/templates) becomes $NGINX_ENVSUBST_OUTPUT_DIR/<name> (default /etc/nginx/conf.d)
# with the environment's variables substituted (only those defined, so nginx's $vars stay).
set -e

template_dir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
output_dir="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"

[ -d "$template_dir" ] || exit 0
if [ ! -w "$output_dir" ]; then
  echo "$0: ERROR: $template_dir exists, but $output_dir is not writable" >&2
  exit 0
fi
# "${NAME} " for each variable in the environment (matching NGINX_ENVSUBST_FILTER if set).
defined_envs=$(awk -v filter="${NGINX_ENVSUBST_FILTER:-}" \
  'END { for (name in ENVIRON) if (name ~ filter) printf "${%s} ", name }' </dev/null)
find "$template_dir" -follow -type f -name "*$suffix" -print | while read -r template; do
  relative_path="${template#"$template_dir/"}"
  output_path="$output_dir/${relative_path%"$suffix"}"
  mkdir -p "$(dirname "$output_path")"
  echo "$0: Running envsubst on $template to $output_path"
  envsubst "$defined_envs" <"$template" >"$output_path"
done

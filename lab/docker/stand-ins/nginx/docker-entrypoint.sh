#!/bin/sh
# The official image's 20-envsubst-on-templates step, then nginx.
set -eu
if [ "$1" = nginx ] || [ "$1" = nginx-debug ]; then
  dir="${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}"
  suffix="${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}"
  out="${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}"
  filter="${NGINX_ENVSUBST_FILTER:-}"
  defined="$(printf '${%s} ' $(awk "END { for (name in ENVIRON) { print ( name ~ /${filter}/ ) ? name : \"\" } }" </dev/null))"
  if [ -d "$dir" ]; then
    find "$dir" -follow -type f -name "*$suffix" -print | while read -r template; do
      rel="${template#"$dir/"}"
      target="$out/${rel%"$suffix"}"
      mkdir -p "$(dirname "$target")"
      echo "$0: rendering $template to $target"
      envsubst "$defined" <"$template" >"$target"
    done
  fi
fi
exec "$@"

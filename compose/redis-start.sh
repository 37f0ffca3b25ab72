#!/bin/sh
# Starts redis-server for the compose deployment (docs/security.md):
#   - the `default` user is disabled (no unauthenticated access);
#   - the application user ($INSIGHTS_REDIS_USER, default `insights`) has the password
#     $INSIGHTS_REDIS_PASSWORD (required) and only the rules of redis-acl.rules: keys ins:*, the
#     commands Insights uses;
#   - optionally an operator user `admin` with every right, if $INSIGHTS_REDIS_ADMIN_PASSWORD is set.
# Only SHA-256 digests of the passwords are written, to an ACL file ($INSIGHTS_REDIS_ACL_FILE,
# default /tmp/insights-users.acl). Arguments are passed on to redis-server.
set -eu
set -f  # the rules contain '*': no globbing
here=$(dirname "$0")
rules_file=${INSIGHTS_REDIS_ACL_RULES:-$here/redis-acl.rules}
acl_file=${INSIGHTS_REDIS_ACL_FILE:-/tmp/insights-users.acl}
user=${INSIGHTS_REDIS_USER:-insights}
password=${INSIGHTS_REDIS_PASSWORD:-}
admin_password=${INSIGHTS_REDIS_ADMIN_PASSWORD:-}

fail() { echo "redis-start.sh: $*" >&2; exit 1; }
[ -n "$password" ] || fail "set INSIGHTS_REDIS_PASSWORD (e.g. openssl rand -hex 32); see docs/security.md"
# Both go into INSIGHTS_REDIS_URL unescaped: URL-safe characters only.
case "$user$password$admin_password" in *[!A-Za-z0-9._~-]*) fail "user and passwords may contain only A-Z a-z 0-9 . _ ~ -";; esac
[ ${#password} -ge 16 ] || fail "INSIGHTS_REDIS_PASSWORD must have at least 16 characters"
[ "$user" != default ] && [ "$user" != admin ] || fail "INSIGHTS_REDIS_USER may not be default or admin"
[ -r "$rules_file" ] || fail "cannot read the ACL rules $rules_file"
# A cluster node's replica authenticates to its primary as admin (docker-compose.cluster.yml).
[ "${INSIGHTS_REDIS_CLUSTER:-0}" != 1 ] || [ -n "$admin_password" ] || fail "set INSIGHTS_REDIS_ADMIN_PASSWORD: cluster replicas authenticate as admin"

digest() { printf %s "$1" | sha256sum | cut -d ' ' -f 1; }
rules=$(sed -e 's/#.*//' "$rules_file" | tr '\n\t' '  ')
umask 077
{
  echo "user default off resetpass nocommands resetkeys resetchannels"
  echo "user $user on #$(digest "$password") $rules"
  if [ -n "$admin_password" ]; then echo "user admin on #$(digest "$admin_password") ~* &* +@all"; fi
} > "$acl_file"

# In the redis image, docker-entrypoint.sh drops root for the redis user; give it the file.
if command -v docker-entrypoint.sh >/dev/null 2>&1; then
  chown redis "$acl_file" 2>/dev/null || true
  exec docker-entrypoint.sh redis-server --aclfile "$acl_file" "$@"
fi
exec redis-server --aclfile "$acl_file" "$@"

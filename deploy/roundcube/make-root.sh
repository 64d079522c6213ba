#!/bin/sh
# Build a private Roundcube root from Debian's packages (roundcube-core, roundcube-plugins), with Postbode's
# plugin and password driver, without writing into /usr/share/roundcube or /var/lib/roundcube:
#   make-root.sh ROOT CONFIG_DIR POSTBODE_DEPLOY_DIR
# ROOT/public_html is what the web server (or `php -S`) serves; ROOT/config points at CONFIG_DIR (the filled
# config.inc.php), which gets Debian's defaults.inc.php and mimetypes.php beside it. Safe to run again.
set -eu
root=$1
config=$2
deploy=$3
share=/usr/share/roundcube

mkdir -p "$root/public_html/program" "$root/plugins/password/drivers" "$root/logs" "$root/temp" "$config"
for name in program skins SQL index.php; do ln -sfn "$share/$name" "$root/$name"; done
ln -sfn "$config" "$root/config"
for name in defaults.inc.php mimetypes.php; do ln -sfn "/etc/roundcube/$name" "$config/$name"; done
# the public entry point finds the root as its parent directory, so it is a copy, not a link
cp -f /var/lib/roundcube/public_html/index.php "$root/public_html/index.php"
ln -sfn "$share/program/js" "$root/public_html/program/js"
ln -sfn "$share/program/resources" "$root/public_html/program/resources"
ln -sfn "$root/skins" "$root/public_html/skins"
ln -sfn "$root/plugins" "$root/public_html/plugins"
# Debian's plugins, except the password plugin, which gets a directory of its own for Postbode's driver
for plugin in "$share"/plugins/*; do
  name=$(basename "$plugin")
  [ "$name" = password ] || ln -sfn "$plugin" "$root/plugins/$name"
done
for entry in "$share"/plugins/password/*; do
  name=$(basename "$entry")
  case "$name" in drivers|config.inc.php) ;; *) ln -sfn "$entry" "$root/plugins/password/$name" ;; esac
done
for driver in "$share"/plugins/password/drivers/*; do ln -sfn "$driver" "$root/plugins/password/drivers/"; done
ln -sfn "$deploy/roundcube/password-driver/postbode.php" "$root/plugins/password/drivers/postbode.php"
ln -sfn "$deploy/roundcube/plugins/postbode" "$root/plugins/postbode"

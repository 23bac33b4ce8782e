#!/bin/sh
# Dovecot posing as `bincimap imapd` (other folders under INBOX/), to check the harness itself:
#   python3 bench/compare.py --quick --binary bench/dovecot-as-bincimap.sh
# Both columns are then Dovecot, so ratios should be about 1 and syscall counts equal.
[ "$1" = imapd ] || exit 2
d="$HOME/.dovecot-aa"
mkdir -p "$d" || exit 1
cat > "$d/dovecot.conf" <<CONF
mail_location = maildir:~/Maildir
base_dir = $d
log_path = /dev/null
namespace inbox {
 inbox = yes
 separator = /
 prefix = INBOX/
}
CONF
exec /usr/lib/dovecot/imap -c "$d/dovecot.conf"

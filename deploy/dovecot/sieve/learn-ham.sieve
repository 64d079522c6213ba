# IMAPSieve (dovecot.conf imapsieve_mailbox2): a message moved out of Junk was not spam, unless it went to
# the Trash (deleting teaches nothing). bin/learn-ham hands it to rspamd and notes who taught it.
require ["vnd.dovecot.pipe", "copy", "imapsieve", "environment", "variables"];
if environment :matches "imap.mailbox" "*" {
  set "mailbox" "${1}";
}
if string "${mailbox}" "Trash" {
  stop;
}
if environment :matches "imap.user" "*" {
  set "user" "${1}";
}
pipe :copy "learn-ham" ["${user}"];

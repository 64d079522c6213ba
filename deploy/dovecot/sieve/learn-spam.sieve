# IMAPSieve (dovecot.conf imapsieve_mailbox1): a message moved or copied into Junk is spam to its user.
# bin/learn-spam hands it to rspamd and notes who taught it.
require ["vnd.dovecot.pipe", "copy", "imapsieve", "environment", "variables"];
if environment :matches "imap.user" "*" {
  set "user" "${1}";
}
pipe :copy "learn-spam" ["${user}"];

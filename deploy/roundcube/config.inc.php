<?php
// Roundcube for a Postbode mail host (a template, see deploy/README.md, "Webmail"). `manage.py mailstack`
// fills it for the local stack; production fills it from deploy/production.vars.
//
// Secrets (the key that encrypts sessions and the secret it shows the panel) are not in this file: the panel renders them into @CONFIG_DIR@/webmail/roundcube.json (mode 0640,
// group WEBMAIL_PHP_GROUP) on every apply, as it renders Dovecot's and Postfix's files.
$postbode_settings_file = '@CONFIG_DIR@/webmail/roundcube.json';
$postbode = is_readable($postbode_settings_file)
    ? (json_decode((string) file_get_contents($postbode_settings_file), true) ?: [])
    : [];

$config = [];
$config['db_dsnw'] = '@ROUNDCUBE_DB_DSN@';
$config['log_driver'] = 'file';
$config['log_dir'] = '@ROUNDCUBE_LOG_DIR@';
$config['temp_dir'] = '@ROUNDCUBE_TEMP_DIR@';
$config['enable_installer'] = false;
$config['product_name'] = '@WEBMAIL_PRODUCT_NAME@';
$config['support_url'] = '@WEBMAIL_SUPPORT_URL@';
$config['skin'] = 'elastic';
$config['language'] = 'nl_NL';
$config['use_https'] = '@ROUNDCUBE_USE_HTTPS@' === 'true';
$config['session_lifetime'] = 60;
$config['ip_check'] = true;
$config['login_lc'] = 2;
$config['login_rate_limit'] = 3;
// Without the panel's file (no apply yet) a random key: nothing survives a request, so nobody gets in.
$config['des_key'] = $postbode['des_key'] ?? bin2hex(random_bytes(12));

// The mailbox's own mail host's IMAP and submission, over TLS. The panel names the host of each login (the
// `postbode` plugin: the single sign-on answer, or webmail/api/host/ for a login with the password); %s in
// postbode_imap_host is its name, %h in smtp_host the session's IMAP host. Without the panel's answer, this
// host (imap_host).
$config['postbode_imap_host'] = '@ROUNDCUBE_IMAP_HOST@';
$config['imap_host'] = sprintf($config['postbode_imap_host'], '@HOSTNAME@');
$config['smtp_host'] = '@ROUNDCUBE_SMTP_HOST@';
$config['smtp_user'] = '%u';
$config['smtp_pass'] = '%p';
$postbode_tls = ['ssl' => ['verify_peer' => true, 'verify_peer_name' => true, 'cafile' => '@ROUNDCUBE_CA_FILE@']];
if ('@ROUNDCUBE_PEER_NAME@' !== '') {
    $postbode_tls['ssl']['peer_name'] = '@ROUNDCUBE_PEER_NAME@';
}
$config['imap_conn_options'] = $postbode_tls;
$config['smtp_conn_options'] = $postbode_tls;

// Folders as Dovecot names them (deploy/dovecot/dovecot.conf: special-use folders).
$config['drafts_mbox'] = 'Drafts';
$config['junk_mbox'] = 'Junk';
$config['sent_mbox'] = 'Sent';
$config['trash_mbox'] = 'Trash';

// The panel's plugin (single sign-on, signatures) and password changes through the panel.
$config['plugins'] = ['postbode', 'password', 'archive'];
$config['postbode_panel_url'] = '@WEBMAIL_PANEL_URL@';
$config['postbode_settings'] = $postbode;
$config['postbode_signature_dir'] = '@CONFIG_DIR@/webmail/signatures';
$config['password_driver'] = 'postbode';
$config['password_confirm_current'] = true;
$config['password_minimum_length'] = 10;
$config['password_force_save'] = true;

// The provider's own additions (or a test's panel address), when present.
if (is_file(__DIR__ . '/local.inc.php')) {
    include __DIR__ . '/local.inc.php';
}

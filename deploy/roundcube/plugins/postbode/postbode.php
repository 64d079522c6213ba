<?php

/**
 * Postbode's link between Roundcube and the panel (deploy/README.md, "Webmail").
 *
 * - Single sign-on: the panel's "Open webmail" sends the mailbox's own user to `?_sso=TOKEN`. The token is
 *   shown to the panel once (POST /webmail/api/sso/ with the mail host's shared secret), which accepts it
 *   only once, within 60 seconds, and answers with the mailbox's address, its mail host and a credential for
 *   that one mailbox (webmail/credentials.py). The session logs in to that host's IMAP and submission with
 *   the credential as its password; Dovecot checks it itself (deploy/dovecot/webmail-checkpassword) and
 *   accepts it for that mailbox only, until it expires. No mailbox password is involved.
 * - The mail host of a login with the password comes from the panel too (POST /webmail/api/host/), so one
 *   webmail address serves the mailboxes of every mail host; without an answer, the configured host.
 * - Signatures: the panel renders the mailboxes' signatures into `postbode_signature_dir`/<domain>/, with a
 *   version each; a changed one is set on the default identity at login and when a message is composed.
 * - After a password change (password plugin, driver `postbode`) the session carries on with the credential
 *   the panel answered with, so it does not depend on when the mail host applies the new password.
 */
require_once __DIR__ . '/signatures.php';

class postbode extends rcube_plugin
{
    public $task = '.*';

    /** The credential of the last password change (set by the password driver, read by password_change). */
    public static $changed_credential = null;

    private $rc;

    function init()
    {
        $this->rc = rcmail::get_instance();
        $this->add_texts('localization/');
        $this->informal_dutch();
        $this->add_hook('startup', [$this, 'startup']);
        $this->add_hook('authenticate', [$this, 'authenticate']);
        $this->add_hook('login_after', [$this, 'login_after']);
        $this->add_hook('password_change', [$this, 'password_change']);
    }

    /**
     * Roundcube's Dutch says "u"; the panel, its e-mails and this plugin say "je". When the language is Dutch,
     * Roundcube's sentences that address the reader are replaced by ours (localization/informal/nl_NL.inc),
     * its own and its plugins' ("password.…": merged over them, so a plugin that adds its texts later keeps
     * ours). Other languages are left as they are.
     */
    function informal_dutch()
    {
        $language = $_SESSION['language'] ?? '';
        if (strpos($language, 'nl_') !== 0) {
            return;
        }
        $texts = rcube::read_localization_file(__DIR__ . '/localization/informal/nl_NL.inc');
        $this->rc->load_language(null, [], $texts);
        // The labels every page's script gets before plugins start (rcmail::load_gui) were read in Roundcube's
        // words: read them again.
        if ($this->rc->output instanceof rcmail_output_html) {
            $this->rc->output->add_label('loading', 'servererror', 'connerror', 'requesttimedout', 'refreshing',
                'windowopenerror', 'uploadingmany', 'uploading', 'close', 'save', 'cancel', 'alerttitle',
                'confirmationtitle', 'delete', 'continue', 'ok');
        }
    }

    function startup($args)
    {
        if ($this->sso_token() !== '') {
            $args['task'] = 'login';
            $args['action'] = 'login';
        }
        else if ($args['task'] == 'mail' && $args['action'] == 'compose' && !empty($_SESSION['user_id'])) {
            $this->sync_signature();
        }

        return $args;
    }

    function authenticate($args)
    {
        $token = $this->sso_token();
        if ($token === '') {
            $host = $this->mail_host($args['user']);
            if ($host !== null) {
                $args['host'] = $host;
            }
            return $args;
        }

        if (!empty($_SESSION['user_id'])) {
            $this->rc->kill_session();  // someone else's session in this browser ends first
        }

        $answer = strlen($token) > 200 ? null : $this->ask_panel('sso', ['token' => $token]);
        if (empty($answer['user']) || empty($answer['password']) || empty($answer['host'])) {
            $args['valid'] = false;
            $args['abort'] = true;
            $args['error'] = 'postbode.ssofailed';
            return $args;
        }

        $args['user'] = (string) $answer['user'];
        $args['pass'] = (string) $answer['password'];  // the credential, good for this mailbox only
        $args['host'] = $this->imap_host((string) $answer['host']);
        $args['cookiecheck'] = false;
        $args['valid'] = true;

        return $args;
    }

    function login_after($args)
    {
        $this->sync_signature();
        return $args;
    }

    function password_change($args)
    {
        if (self::$changed_credential !== null) {
            $args['new_pass'] = self::$changed_credential;
        }

        return $args;
    }

    private function sso_token()
    {
        return (string) rcube_utils::get_input_string('_sso', rcube_utils::INPUT_GET);
    }

    /** The IMAP host of the mailbox's mail host as the panel names it, or null (the configured host). */
    private function mail_host($user)
    {
        $answer = $this->ask_panel('host', ['user' => (string) $user]);
        return empty($answer['host']) ? null : $this->imap_host((string) $answer['host']);
    }

    private function imap_host($name)
    {
        if (!preg_match('/^[A-Za-z0-9.-]{1,253}$/', $name)) {
            return null;
        }

        return sprintf((string) $this->rc->config->get('postbode_imap_host'), $name);
    }

    /** POST to one of the panel's webmail endpoints with the host's shared secret; its JSON answer, or null. */
    private function ask_panel($endpoint, $fields)
    {
        $settings = (array) $this->rc->config->get('postbode_settings', []);
        $url = rtrim((string) $this->rc->config->get('postbode_panel_url'), '/') . "/webmail/api/$endpoint/";
        if (empty($settings['api_secret'])) {
            return null;
        }

        try {
            $response = $this->rc->get_http_client(['timeout' => 10])->request('POST', $url, [
                'form_params' => $fields,
                'headers' => ['Authorization' => 'Bearer ' . $settings['api_secret']],
                'http_errors' => false,
            ]);
        }
        catch (Exception $e) {
            rcube::raise_error(['code' => 600, 'file' => __FILE__, 'line' => __LINE__,
                'message' => 'postbode: the panel could not be reached: ' . $e->getMessage()], true, false);
            return null;
        }

        if ($response->getStatusCode() != 200) {
            return null;
        }

        $answer = json_decode((string) $response->getBody(), true);
        return is_array($answer) ? $answer : null;
    }

    /** The panel's signature for this mailbox on its default identity, when it changed since the last time. */
    private function sync_signature()
    {
        if (empty($this->rc->user) || empty($this->rc->user->ID)) {
            return;
        }

        $signature = postbode_signature($this->rc->config->get('postbode_signature_dir'), $this->rc->get_user_name());
        $version = (string) ($signature['version'] ?? '');
        $prefs = $this->rc->user->get_prefs();

        if (($prefs['postbode_signature'] ?? '') === $version) {
            return;
        }

        $identity = $this->rc->user->get_identity();

        if ($identity) {
            $html = (string) ($signature['html'] ?? '');
            $changes = [
                'signature' => $html !== '' ? $html : (string) ($signature['text'] ?? ''),
                'html_signature' => $html !== '' ? 1 : 0,
            ];
            if (empty($identity['name']) && !empty($signature['name'])) {
                $changes['name'] = (string) $signature['name'];
            }
            $this->rc->user->update_identity($identity['identity_id'], $changes);
        }

        $this->rc->user->save_prefs(['postbode_signature' => $version]);
    }
}

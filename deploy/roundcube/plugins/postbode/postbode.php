<?php

/**
 * Postbode's link between Roundcube and the panel (deploy/README.md, "Webmail").
 *
 * - Single sign-on: the panel's "Open webmail" sends the mailbox's own user to `?_sso=TOKEN`. The token is
 *   shown to the panel once (POST /webmail/api/sso/ with the mail host's shared secret), which accepts it
 *   only once, within 60 seconds, and answers with the mailbox's address. The session then logs in to
 *   Dovecot and Postfix by SASL authorization: the mailbox as authorization identity, the webmail's master
 *   login (from the panel's rendered settings) as authentication identity, set for that session only. No
 *   mailbox password is involved.
 * - Signatures: the panel renders each mailbox's signature into `postbode_signature_dir`; a changed one is
 *   set on the default identity at login and when a message is composed.
 * - After a password change (password plugin, driver `postbode`) the session carries on with the master
 *   login, so it does not depend on when the mail host applies the new password.
 */
class postbode extends rcube_plugin
{
    public $task = '.*';

    private $rc;
    private $sso_user = null;

    function init()
    {
        $this->rc = rcmail::get_instance();
        $this->add_texts('localization/');
        $this->add_hook('startup', [$this, 'startup']);
        $this->add_hook('authenticate', [$this, 'authenticate']);
        $this->add_hook('storage_connect', [$this, 'storage_connect']);
        $this->add_hook('smtp_connect', [$this, 'smtp_connect']);
        $this->add_hook('login_after', [$this, 'login_after']);
        $this->add_hook('password_change', [$this, 'password_change']);
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
            return $args;
        }

        if (!empty($_SESSION['user_id'])) {
            $this->rc->kill_session();  // someone else's session in this browser ends first
        }

        $user = $this->redeem($token);
        if ($user === null) {
            $args['valid'] = false;
            $args['abort'] = true;
            $args['error'] = 'postbode.ssofailed';
            return $args;
        }

        $this->sso_user = $user;
        $_SESSION['postbode_master'] = true;
        $args['user'] = $user;
        // never sent: the session logs in with the master login (storage_connect, smtp_connect)
        $args['pass'] = bin2hex(random_bytes(16));
        $args['cookiecheck'] = false;
        $args['valid'] = true;

        return $args;
    }

    function storage_connect($args)
    {
        if ($this->uses_master()) {
            $settings = $this->settings();
            $args['auth_type'] = 'PLAIN';
            $args['auth_cid'] = $settings['master_user'];
            $args['auth_pw'] = $settings['master_password'];
        }

        return $args;
    }

    function smtp_connect($args)
    {
        if ($this->uses_master()) {
            $settings = $this->settings();
            $args['smtp_user'] = $this->rc->get_user_name();
            $args['smtp_auth_type'] = 'PLAIN';
            $args['smtp_auth_cid'] = $settings['master_user'];
            $args['smtp_auth_pw'] = $settings['master_password'];
        }

        return $args;
    }

    function login_after($args)
    {
        $this->sync_signature();
        return $args;
    }

    function password_change($args)
    {
        $_SESSION['postbode_master'] = true;
        return $args;
    }

    private function sso_token()
    {
        return (string) rcube_utils::get_input_string('_sso', rcube_utils::INPUT_GET);
    }

    private function uses_master()
    {
        return ($this->sso_user !== null || !empty($_SESSION['postbode_master']))
            && !empty($this->settings()['master_user']);
    }

    private function settings()
    {
        return (array) $this->rc->config->get('postbode_settings', []);
    }

    /** The mailbox address the panel accepted this token for, or null. */
    private function redeem($token)
    {
        $settings = $this->settings();
        $url = rtrim((string) $this->rc->config->get('postbode_panel_url'), '/') . '/webmail/api/sso/';
        if (empty($settings['api_secret']) || strlen($token) > 200) {
            return null;
        }

        try {
            $response = $this->rc->get_http_client(['timeout' => 10])->request('POST', $url, [
                'form_params' => ['token' => $token],
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
        return is_array($answer) && !empty($answer['user']) ? (string) $answer['user'] : null;
    }

    /** The panel's signature for this mailbox on its default identity, when it changed since the last time. */
    private function sync_signature()
    {
        if (empty($this->rc->user) || empty($this->rc->user->ID)) {
            return;
        }

        $address = strtolower($this->rc->get_user_name());
        $file = rtrim((string) $this->rc->config->get('postbode_signature_dir'), '/')
            . '/' . hash('sha256', $address) . '.json';
        $raw = is_readable($file) ? (string) file_get_contents($file) : '';
        $version = $raw === '' ? '' : hash('sha256', $raw);
        $prefs = $this->rc->user->get_prefs();

        if (($prefs['postbode_signature'] ?? '') === $version) {
            return;
        }

        $signature = $raw === '' ? [] : (json_decode($raw, true) ?: []);
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

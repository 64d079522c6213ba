<?php

/**
 * Password changes through the Postbode panel (deploy/README.md, "Webmail"): the panel checks the current
 * password, applies its own strength rules, records the change in the customer's activity log and applies
 * it to the mail hosts, exactly as a change made in the panel. Its refusal comes back in the user's language.
 *
 * POST <panel>/webmail/api/password/ with the mail host's shared secret (Authorization: Bearer ...), fields
 * user, current, new, language and ip (the user's address, for the activity log).
 * Answers: 200 {"ok": true, "password": "<credential>"}; 400/403/429 {"message": "..."}. The credential (a
 * login for this mailbox only, checked by Dovecot) becomes the session's password, so the session carries on
 * whenever the mail host applies the new password (the postbode plugin's password_change hook).
 */
class rcube_postbode_password
{
    /** The panel compares the current password itself (a single sign-on session has none of its own). */
    function compare($curpass, $newpass, $type)
    {
        return null;
    }

    function save($curpass, $newpass, $username)
    {
        $rcmail = rcmail::get_instance();
        $settings = (array) $rcmail->config->get('postbode_settings', []);
        $url = rtrim((string) $rcmail->config->get('postbode_panel_url'), '/') . '/webmail/api/password/';

        if (empty($settings['api_secret'])) {
            return PASSWORD_CONNECT_ERROR;
        }

        try {
            $response = password::get_http_client()->request('POST', $url, [
                'form_params' => [
                    'user' => $username,
                    'current' => $curpass,
                    'new' => $newpass,
                    'language' => (string) ($_SESSION['language'] ?? ''),
                    'ip' => rcube_utils::remote_ip(),
                ],
                'headers' => ['Authorization' => 'Bearer ' . $settings['api_secret']],
                'http_errors' => false,
            ]);
        }
        catch (Exception $e) {
            rcube::raise_error(['code' => 600, 'file' => __FILE__, 'line' => __LINE__,
                'message' => 'Password plugin (postbode): ' . $e->getMessage()], true, false);
            return PASSWORD_CONNECT_ERROR;
        }

        $status = $response->getStatusCode();
        $answer = json_decode((string) $response->getBody(), true);
        $message = is_array($answer) ? (string) ($answer['message'] ?? '') : '';

        if ($status == 200 && is_array($answer) && !empty($answer['ok'])) {
            if (!empty($answer['password']) && class_exists('postbode', false)) {
                postbode::$changed_credential = (string) $answer['password'];
            }
            return PASSWORD_SUCCESS;
        }
        if ($status == 400) {
            return ['code' => PASSWORD_CONSTRAINT_VIOLATION, 'message' => $message];
        }
        if ($status == 403 || $status == 429) {
            return ['code' => PASSWORD_ERROR, 'message' => $message];
        }

        return PASSWORD_CONNECT_ERROR;
    }
}

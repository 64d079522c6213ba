<?php

/**
 * The panel's signature of a mailbox, as the panel renders them (webmail/rendering.py, signature_file): the
 * signatures of a domain are in `<dir>/<domain>/all.json`, or in files by the first one or two hexadecimal
 * digits of the lower-case address's SHA-256 (`<digit>.json`, `<two digits>.json`) when the domain has many;
 * the one of them that exists holds the address's entry (name, text, html and version).
 *
 * Returns the entry, or an empty array: no signature, an address whose domain part is not a domain name, or a
 * file that cannot be read.
 */
function postbode_signature($dir, $address)
{
    $address = strtolower((string) $address);
    $domain = substr($address, strrpos($address, '@') + 1);
    if (!preg_match('/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/', $domain) || strpos($domain, '..') !== false) {
        return [];
    }
    $folder = rtrim((string) $dir, '/') . '/' . $domain . '/';
    $digest = hash('sha256', $address);
    foreach (['all', substr($digest, 0, 1), substr($digest, 0, 2)] as $name) {
        if (is_readable($folder . $name . '.json')) {
            $entries = json_decode((string) file_get_contents($folder . $name . '.json'), true);
            return is_array($entries) && is_array($entries[$address] ?? null) ? $entries[$address] : [];
        }
    }
    return [];
}

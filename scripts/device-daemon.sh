#!/bin/sh
# A headless daemon signing in to idpd (README "Devices"): the device authorization grant
# (RFC 8628) once, then device registration and device login with signed assertions
# (RFC 7523) for as long as the device is not revoked.
#
#   scripts/device-daemon.sh ISSUER CLIENT_ID [STATE_DIR]
#
# CLIENT_ID is a public client registered for the grants device_code, jwt-bearer and
# refresh_token with the scopes openid, offline_access and devices. STATE_DIR (default
# ./device-state) keeps the device's private key and ids between runs. Needs curl, jq and
# OpenSSL 3 (Ed25519 signing with pkeyutl -rawin).
set -eu

issuer=${1:?usage: device-daemon.sh ISSUER CLIENT_ID [STATE_DIR]}
client_id=${2:?usage: device-daemon.sh ISSUER CLIENT_ID [STATE_DIR]}
state=${3:-./device-state}
mkdir -p "$state"
chmod 700 "$state"

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
token() { curl -sS -d client_id="$client_id" "$@" "$issuer/token"; }

if [ ! -s "$state/device_id" ]; then
    # 1. Device authorization: show the user where to go and which code to type.
    da=$(curl -sS -d client_id="$client_id" -d scope="openid offline_access devices" \
        "$issuer/device_authorization")
    device_code=$(echo "$da" | jq -er .device_code)
    interval=$(echo "$da" | jq -er .interval)
    echo "Open $(echo "$da" | jq -r .verification_uri_complete)"
    echo "  or go to $(echo "$da" | jq -r .verification_uri) and type $(echo "$da" | jq -r .user_code)"

    # 2. Poll until the user decides (RFC 8628 §3.5).
    while :; do
        sleep "$interval"
        t=$(token -d grant_type=urn:ietf:params:oauth:grant-type:device_code -d device_code="$device_code")
        case $(echo "$t" | jq -r '.error // "ok"') in
            ok) break ;;
            authorization_pending) ;;
            slow_down) interval=$((interval + 5)) ;;
            *) echo "device authorization failed: $t" >&2; exit 1 ;;
        esac
    done
    access_token=$(echo "$t" | jq -er .access_token)

    # 3. A key of its own, registered with the access token (scope `devices`). The proof,
    # signed by the new key, shows idpd that the daemon holds it: aud = the issuer, ath =
    # the access token's SHA-256, iat = now, a fresh jti.
    openssl genpkey -algorithm ed25519 -out "$state/device.key"
    chmod 600 "$state/device.key"
    x=$(openssl pkey -in "$state/device.key" -pubout -outform DER | tail -c 32 | b64url)
    ath=$(printf '%s' "$access_token" | openssl dgst -sha256 -binary | b64url)
    now=$(date +%s)
    proof_header=$(printf '{"alg":"EdDSA","typ":"device-registration+jwt"}' | b64url)
    proof_claims=$(printf '{"aud":"%s","ath":"%s","iat":%s,"jti":"%s"}' \
        "$issuer" "$ath" "$now" "$(openssl rand -hex 16)" | b64url)
    printf '%s.%s' "$proof_header" "$proof_claims" > "$state/input"
    proof_sig=$(openssl pkeyutl -sign -inkey "$state/device.key" -rawin -in "$state/input" | b64url)
    device=$(curl -sS -H "Authorization: Bearer $access_token" -H 'Content-Type: application/json' \
        -d "{\"name\":\"$(hostname)\",\"platform\":\"linux\",\"public_key\":{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"$x\"},\"proof\":\"$proof_header.$proof_claims.$proof_sig\"}" \
        "$issuer/devices")
    if ! echo "$device" | jq -e .id > /dev/null; then
        echo "device registration failed: $device" >&2
        exit 1
    fi
    echo "$device" | jq -er .id > "$state/device_id"
    echo "$device" | jq -er .user_id > "$state/user_id"
    echo "registered device $(cat "$state/device_id")"
fi

# 4. From now on: sign an assertion, get tokens (RFC 7523 §2.1). Each assertion is used once.
now=$(date +%s)
header=$(printf '{"alg":"EdDSA","typ":"JWT"}' | b64url)
claims=$(printf '{"iss":"%s","sub":"%s","aud":"%s/token","iat":%s,"exp":%s,"jti":"%s"}' \
    "$(cat "$state/device_id")" "$(cat "$state/user_id")" "$issuer" "$now" $((now + 120)) \
    "$(openssl rand -hex 16)" | b64url)
printf '%s.%s' "$header" "$claims" > "$state/input"
sig=$(openssl pkeyutl -sign -inkey "$state/device.key" -rawin -in "$state/input" | b64url)
t=$(token -d grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer -d assertion="$header.$claims.$sig")
if [ "$(echo "$t" | jq -r '.error // "ok"')" != ok ]; then
    echo "device login failed (revoked?): $t" >&2
    exit 1
fi
echo "$t" | jq '{access_token, expires_in, scope, refresh_token}'

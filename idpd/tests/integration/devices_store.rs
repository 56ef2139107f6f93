//! The devices store on both backends: single-use jtis, their purge at expiry, device
//! authorizations kept a day past expiry, slow_down bookkeeping and single consumption.

use std::sync::Arc;

use crate::common::{drop_pg, insert_user, stores, tenant_with_old_keys};
use idpd::crypto::MasterKey;
use idpd::domain::devices::{self, DeviceState};
use idpd::domain::grants::{self, TokenFamily};

use idpd::domain::users::UserRecord;
use idpd::store::{Store, UsedJti};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Spends `jti` of `device` with a new family (and its first refresh token); true if it was
/// fresh. A refused jti must leave neither behind.
async fn redeem(
    store: &dyn Store,
    user: &UserRecord,
    device: Uuid,
    jti: &str,
    expires_at: OffsetDateTime,
) -> bool {
    let family = TokenFamily {
        id: Uuid::new_v4(),
        tenant_id: user.tenant_id,
        client_id: "daemon".into(),
        user_id: user.id,
        session_id: None,
        created_at: idpd::clock::now(),
        revoked_at: None,
        device_id: Some(device),
    };
    let (_, refresh) = grants::new_refresh(family.id, "openid offline_access");
    let used = UsedJti {
        tenant_id: user.tenant_id,
        device_id: device,
        jti,
        expires_at,
    };
    let fresh = store
        .redeem_assertion(&used, &family, Some(&refresh))
        .await
        .unwrap();
    let stored_family = store.find_family(family.id).await.unwrap();
    let stored_refresh = store.find_refresh(&refresh.digest).await.unwrap();
    assert_eq!(
        stored_family.is_some(),
        fresh,
        "family stored iff the jti was fresh"
    );
    assert_eq!(
        stored_refresh.is_some(),
        fresh,
        "refresh stored iff the jti was fresh"
    );
    fresh
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jtis_and_device_authorizations() {
    let master = Arc::new(MasterKey::from_bytes(&[3u8; 32]));
    for (store, pg, _dir) in stores().await {
        let tenant = tenant_with_old_keys(store.as_ref(), &master, "acme").await;
        let now = idpd::clock::now();
        let device = Uuid::now_v7();
        let user = insert_user(store.as_ref(), tenant.id, "d@example.com").await;
        let s = store.as_ref();

        // A jti works once until it expires and is purged.
        let soon = now + Duration::seconds(1);
        assert!(redeem(s, &user, device, "j1", soon).await);
        assert!(!redeem(s, &user, device, "j1", soon).await);
        assert!(redeem(s, &user, Uuid::now_v7(), "j1", soon).await);
        let later = now + Duration::minutes(5);
        assert!(redeem(s, &user, device, "j2", later).await);

        // Device authorizations: the expired one is kept a day, then purged.
        let (_, _, mut old) = devices::new_authorization(tenant.id, "daemon", "openid", 600, 5);
        old.expires_at = now - Duration::days(2);
        let (device_code, _, fresh) =
            devices::new_authorization(tenant.id, "daemon", "openid", 600, 5);
        store.insert_device_authorization(&old).await.unwrap();
        store.insert_device_authorization(&fresh).await.unwrap();

        let purged = store
            .purge_devices(idpd::clock::now() + Duration::seconds(2))
            .await
            .unwrap();
        assert_eq!(purged, 3, "both j1, and the old authorization");
        assert!(redeem(s, &user, device, "j1", later).await);
        assert!(!redeem(s, &user, device, "j2", later).await);
        assert!(
            store
                .find_device_authorization(tenant.id, &old.user_code_digest)
                .await
                .unwrap()
                .is_none()
        );

        // Polls: the first is on time, the next too early (interval + 5 s).
        let digest = idpd::crypto::sha256(device_code.as_bytes());
        let ms = devices::unix_ms(idpd::clock::now());
        let a = store
            .poll_device_authorization(&digest, ms)
            .await
            .unwrap()
            .unwrap();
        assert!(!a.last_poll_slow);
        assert_eq!(a.next_poll_at, ms + 5000);
        let a = store
            .poll_device_authorization(&digest, ms + 10)
            .await
            .unwrap()
            .unwrap();
        assert!(a.last_poll_slow);
        assert_eq!((a.interval_seconds, a.next_poll_at), (10, ms + 10 + 10_000));

        // Approved once, consumed once.
        assert!(
            store
                .consume_device_authorization(&digest)
                .await
                .unwrap()
                .is_none()
        );
        let decision = Some((Uuid::now_v7(), Uuid::now_v7(), now));
        let ucd = fresh.user_code_digest;
        // No such user: the foreign key refuses, nothing changes.
        assert!(
            store
                .decide_device_authorization(tenant.id, &ucd, decision, now)
                .await
                .is_err()
        );
        assert!(
            store
                .decide_device_authorization(tenant.id, &ucd, None, now)
                .await
                .unwrap()
        );
        assert!(
            !store
                .decide_device_authorization(tenant.id, &ucd, None, now)
                .await
                .unwrap()
        );
        let a = store
            .find_device_authorization(tenant.id, &ucd)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(a.state, DeviceState::Denied);
        assert!(
            store
                .consume_device_authorization(&digest)
                .await
                .unwrap()
                .is_none()
        );

        store.close().await;
        if let Some(name) = pg {
            drop_pg(&name).await;
        }
    }
}

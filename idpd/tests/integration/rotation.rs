//! Automatic key rotation against a real store (SQLite, and PostgreSQL when
//! `IDP_TEST_POSTGRES_URL` is set): due keys are replaced once, even when several instances
//! run the job at the same moment.

use std::sync::Arc;

use crate::common::{drop_pg, stores, tenant_with_old_keys, tenant_with_old_keys_of};
use idpd::crypto::MasterKey;
use idpd::domain::keys;
use shared::admin::Alg;
use time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn due_keys_rotate_once_across_instances() {
    let master = Arc::new(MasterKey::from_bytes(&[9u8; 32]));
    for (store, pg, _dir) in stores().await {
        let due = tenant_with_old_keys(store.as_ref(), &master, "due").await;
        let mut fresh = tenant_with_old_keys(store.as_ref(), &master, "fresh").await;
        // "fresh" rotates only every 3 hours: its 2-hour-old keys are not due.
        fresh.key_rotation_interval_seconds = Some(3 * 3600);
        store.update_tenant(&fresh).await.unwrap();

        // Three "instances" run the job at once.
        let runs: Vec<_> = (0..3)
            .map(|_| {
                let (store, master) = (store.clone(), master.clone());
                tokio::spawn(
                    async move { keys::rotate_due(store.as_ref(), &master).await.unwrap() },
                )
            })
            .collect();
        let mut made = 0;
        for r in runs {
            made += r.await.unwrap();
        }
        assert_eq!(
            made, 3,
            "one new key per advertised algorithm, not one per instance"
        );

        let now = idpd::clock::now();
        let views = keys::lifecycle(&store.list_keys(due.id).await.unwrap(), now);
        for alg in keys::ADVERTISED_ALGS {
            let of_alg: Vec<_> = views.iter().filter(|v| v.record.alg == alg).collect();
            assert_eq!(of_alg.len(), 2, "{alg:?}");
            let next = of_alg
                .iter()
                .find(|v| v.record.created_at > now - Duration::minutes(1))
                .unwrap();
            assert_eq!(
                next.state,
                shared::admin::KeyState::Next,
                "published before it signs"
            );
            assert!(
                next.record.activates_at
                    >= now + Duration::seconds(keys::DEFAULT_PREPUBLISH_SECONDS - 5)
            );
        }
        assert_eq!(store.list_keys(fresh.id).await.unwrap().len(), 3, "not due");
        // Nothing more is due now.
        assert_eq!(keys::rotate_due(store.as_ref(), &master).await.unwrap(), 0);

        // Issue 16: a tenant made before tenants had a key of every advertised algorithm
        // gets the missing one pre-published, never active at once.
        let mut legacy =
            tenant_with_old_keys_of(store.as_ref(), &master, "legacy", &[Alg::RS256, Alg::ES256])
                .await;
        legacy.key_rotation_interval_seconds = Some(3 * 3600);
        store.update_tenant(&legacy).await.unwrap();
        assert_eq!(keys::rotate_due(store.as_ref(), &master).await.unwrap(), 1);
        let after = keys::lifecycle(
            &store.list_keys(legacy.id).await.unwrap(),
            idpd::clock::now(),
        );
        assert_eq!(after.len(), 3, "only the missing algorithm");
        let fresh_eddsa = after
            .iter()
            .find(|v| {
                v.record.alg == Alg::EdDSA && v.record.created_at > now - Duration::minutes(1)
            })
            .expect("an EdDSA key for the legacy tenant");
        assert_eq!(fresh_eddsa.state, shared::admin::KeyState::Next);

        store.close().await;
        if let Some(name) = pg {
            drop_pg(&name).await;
        }
    }
}

//! Users: a profile item plus a handle claim, written in one transaction so a handle is unique.

use kit::dynamo::{Expr, Item, Transaction, s, transact_write, tx_put};

use super::{Store, StoreError, keys};
use crate::models::{DisplayName, Handle, User, UserId};

impl Store {
    pub async fn create_user(&self, handle: &Handle, display_name: &DisplayName) -> Result<User, StoreError> {
        let id = UserId::generate();
        let user = User {
            id,
            handle: handle.as_str().to_owned(),
            display_name: display_name.as_str().to_owned(),
            created_at: id.created_at(),
        };
        let mut profile: Item = serde_dynamo::to_item(&user)?;
        profile.extend(keys::user(id));
        profile.insert("entity".into(), s("user"));
        let mut claim = keys::handle(handle);
        claim.insert("user_id".into(), s(id.to_string()));
        claim.insert("entity".into(), s("handle"));

        let not_exists = Some("attribute_not_exists(pk)");
        let request = self
            .db
            .transact_write_items()
            .transact_items(tx_put(self.table(), profile, not_exists, Expr::new()))
            .transact_items(tx_put(self.table(), claim, not_exists, Expr::new()));
        match transact_write(request).await? {
            Transaction::Committed => Ok(user),
            outcome if outcome.failed_at(1) => Err(StoreError::HandleTaken),
            _ => Err(StoreError::Inconsistent("a freshly generated user id already exists")),
        }
    }

    pub async fn get_user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let output = self.db.get_item().table_name(self.table()).set_key(Some(keys::user(id))).send().await?;
        Ok(output.item.map(serde_dynamo::from_item).transpose()?)
    }
}

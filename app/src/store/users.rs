//! Users: a profile item, a handle claim (a handle is unique) and an identity claim (one profile per subject of
//! the identity provider), written in one transaction. The identity claim maps a verified token's subject to
//! the user id every write acts as.

use kit::dynamo::{Expr, Item, Transaction, s, transact_write, tx_put};

use super::{Store, StoreError, keys};
use crate::models::{DisplayName, Handle, User, UserId};

impl Store {
    /// Creates the profile `id` of the identity `subject`. If the identity's profile is `id` already, an earlier
    /// attempt of the same request made it: that profile is returned.
    pub async fn create_user(
        &self,
        id: UserId,
        subject: &str,
        handle: &Handle,
        display_name: &DisplayName,
    ) -> Result<User, StoreError> {
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
        let mut identity = keys::identity(subject);
        identity.insert("user_id".into(), s(id.to_string()));
        identity.insert("entity".into(), s("identity"));

        let not_exists = Some("attribute_not_exists(pk)");
        let request = self
            .db
            .transact_write_items()
            .transact_items(tx_put(self.table(), profile, not_exists, Expr::new()))
            .transact_items(tx_put(self.table(), claim, not_exists, Expr::new()))
            .transact_items(tx_put(self.table(), identity, not_exists, Expr::new()));
        let outcome = transact_write(request).await;
        // A profile looked up before it existed is "not found" no longer (also when the answer was lost).
        self.cached.users.invalidate(&id).await;
        match outcome? {
            Transaction::Committed => Ok(user),
            outcome if outcome.failed_at(2) => match self.user_of(subject).await? {
                Some(existing) if existing == id => {
                    self.get(keys::user(id), true).await?.ok_or(StoreError::UserNotFound)
                }
                _ => Err(StoreError::ProfileExists),
            },
            outcome if outcome.failed_at(1) => Err(StoreError::HandleTaken),
            _ => Err(StoreError::Inconsistent("a new user id belongs to an existing profile")),
        }
    }

    /// The user whose profile the identity `subject` created, if it did. Strongly consistent: a client that
    /// has just created its profile can write at once.
    pub async fn user_of(&self, subject: &str) -> Result<Option<UserId>, StoreError> {
        let output = self
            .db
            .get_item()
            .table_name(self.table())
            .set_key(Some(keys::identity(subject)))
            .projection_expression("user_id")
            .consistent_read(true)
            .send()
            .await?;
        let user_id = output.item.as_ref().and_then(|item| item.get("user_id")).and_then(|v| v.as_s().ok());
        user_id
            .map(|id| UserId::parse(id).map_err(|_| StoreError::Inconsistent("an identity claim names no user id")))
            .transpose()
    }

    /// Changes a user's display name; returns the profile as it now is.
    pub async fn rename_user(&self, id: UserId, display_name: &DisplayName) -> Result<User, StoreError> {
        let output = self
            .db
            .update_item()
            .table_name(self.table())
            .set_key(Some(keys::user(id)))
            .update_expression("SET display_name = :name")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":name", s(display_name.as_str()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        self.cached.users.invalidate(&id).await;
        match output {
            Ok(output) => Ok(serde_dynamo::from_item(output.attributes.unwrap_or_default())?),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Err(StoreError::UserNotFound)
            }
            Err(err) => Err(err.into()),
        }
    }
}

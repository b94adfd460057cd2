//! Every key of the single table, in one place (see `docs/data-model.md`).

use kit::{
    dynamo::{Item, key},
    shard::sharded_key,
};

use crate::models::{Handle, MediaId, PostId, UserId};

pub const GSI1: &str = "gsi1";

pub fn user(id: UserId) -> Item {
    key(format!("USER#{id}"), "PROFILE")
}

/// The claim of an identity provider's subject on one profile (one profile per subject).
pub fn identity(subject: &str) -> Item {
    key(format!("IDENTITY#{subject}"), "IDENTITY")
}

pub fn handle(handle: &Handle) -> Item {
    key(format!("HANDLE#{}", handle.as_str()), "HANDLE")
}

pub fn post(id: PostId) -> Item {
    key(format!("POST#{id}"), "POST")
}

/// GSI1 partition of an author's timeline; its sort key is the post's feed position.
pub fn author_timeline(author: UserId) -> String {
    format!("AUTHOR#{author}")
}

/// Partition of one shard of the global latest index; its sort key is the post's feed position.
pub fn latest_shard(shard: u16) -> String {
    sharded_key("LATEST", shard)
}

pub fn media(id: MediaId) -> Item {
    key(format!("MEDIA#{id}"), "MEDIA")
}

/// A user's like of a post, in the user's partition (its sort key prefix is what the like counter's stream
/// filter selects: [`LIKE_PREFIX`]).
pub fn like(user: UserId, post: PostId) -> Item {
    key(format!("USER#{user}"), format!("{LIKE_PREFIX}{post}"))
}

pub const LIKE_PREFIX: &str = "LIKE#";

/// The partition of a post's like counters, one item per stream shard that carried likes of it.
pub fn like_counters(post: PostId) -> String {
    format!("POST#{post}#LIKES")
}

pub fn like_counter(post: PostId, stream_shard: &str) -> Item {
    key(like_counters(post), format!("STREAM#{stream_shard}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kit::dynamo::s;

    #[test]
    fn key_shapes_match_the_data_model() {
        let post_id = PostId::parse("01JDQ3X7Y8Z9ABCDEFGHJKMNPQ").unwrap();
        let user_id = UserId::parse("01JDQ3X7Y8Z9ABCDEFGHJKMNPR").unwrap();
        assert_eq!(post(post_id)["pk"], s("POST#01JDQ3X7Y8Z9ABCDEFGHJKMNPQ"));
        assert_eq!(like(user_id, post_id)["pk"], s("USER#01JDQ3X7Y8Z9ABCDEFGHJKMNPR"));
        assert_eq!(like(user_id, post_id)["sk"], s("LIKE#01JDQ3X7Y8Z9ABCDEFGHJKMNPQ"));
        assert_eq!(like_counter(post_id, "shardId-1")["pk"], s("POST#01JDQ3X7Y8Z9ABCDEFGHJKMNPQ#LIKES"));
        assert_eq!(like_counter(post_id, "shardId-1")["sk"], s("STREAM#shardId-1"));
        assert_eq!(latest_shard(15), "LATEST#15");
        assert_eq!(handle(&Handle::parse("Ada").unwrap())["pk"], s("HANDLE#ada"));
        assert_eq!(user(user_id)["sk"], s("PROFILE"));
        assert_eq!(identity("abc-123")["pk"], s("IDENTITY#abc-123"));
    }
}

//! Which prompt tokens can stay in the KV cache.

/// The number of leading tokens of `prompt` that are already in the cache and
/// can be kept. At least one prompt token is always evaluated again, because
/// generation needs the logits of the last prompt token and the cache keeps
/// no logits.
pub(super) fn reusable_prefix<T: PartialEq>(cached: &[T], prompt: &[T]) -> usize {
    let common = cached.iter().zip(prompt).take_while(|(a, b)| a == b).count();
    common.min(prompt.len().saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::reusable_prefix;

    #[test]
    fn keeps_the_common_prefix_but_not_the_last_prompt_token() {
        assert_eq!(reusable_prefix(&[1, 2, 3, 4], &[1, 2, 3, 4, 5, 6]), 4);
        assert_eq!(reusable_prefix(&[1, 2, 9], &[1, 2, 3, 4]), 2);
        assert_eq!(reusable_prefix(&[1, 2, 3], &[1, 2, 3]), 2);
        assert_eq!(reusable_prefix(&[1, 2, 3, 4, 5], &[1, 2]), 1);
        assert_eq!(reusable_prefix::<u8>(&[], &[]), 0);
        assert_eq!(reusable_prefix(&[7], &[1]), 0);
    }
}

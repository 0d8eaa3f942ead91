/**
 * The Sentinel quorum that keeps failure detection and failover authorization aligned:
 * a strict majority of `sentinels`, floor(n/2)+1.
 *
 * @see https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/
 */
export function quorumFor(sentinels: number): number {
  if (!Number.isInteger(sentinels) || sentinels < 1) {
    throw new Error(`quorumFor: sentinels (${sentinels}) must be a positive integer`);
  }
  return Math.floor(sentinels / 2) + 1;
}

/** True when `quorum` Sentinels are a strict majority of `sentinels`. */
export function isMajority(quorum: number, sentinels: number): boolean {
  return quorum * 2 > sentinels;
}

import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Chart, Duration, Size, Testing } from 'cdk8s';
import { Cpu } from 'cdk8s-plus-27';
import {
  CertManagerCertificateOptions, CertificateSource, MaxmemoryPolicy, RedisAuth, RedisSentinel, RedisSentinelChart, RedisSentinelChartProps, RedisSentinelConfigError,
} from '../src';
import { cron } from './support/synth';
import { settingsOf, testApp } from './support/synth';

/** Builds the chart the way users do; throws for invalid props. */
function make(props: RedisSentinelChartProps): RedisSentinelChart {
  return new RedisSentinelChart(testApp(), 'redis', props);
}

/** The error a construction throws (fails the test when nothing is thrown). */
function errorOf(props: RedisSentinelChartProps): RedisSentinelConfigError {
  try {
    make(props);
  } catch (e) {
    return e as RedisSentinelConfigError;
  }
  throw new Error(`expected ${JSON.stringify(props)} to be refused`);
}

/**
 * Every test names the prop and the offending value in one regex; `[^\n]*` keeps both on the same
 * problem line, so a message that names the prop in one problem and the value in another does not pass.
 */
describe('invalid configurations', () => {
  // --- sentinels -------------------------------------------------------------------------------
  it('fails when sentinels is 1 without allowUnsafeSentinelCount', () => {
    expect(() => make({ sentinels: 1 })).toThrow(/sentinels \(1\)[^\n]*allowUnsafeSentinelCount/);
  });

  it('fails when sentinels is 2 without allowUnsafeSentinelCount', () => {
    expect(() => make({ sentinels: 2 })).toThrow(/sentinels \(2\)[^\n]*allowUnsafeSentinelCount/);
  });

  it('fails when sentinels is 4 (even) without allowUnsafeSentinelCount', () => {
    expect(() => make({ sentinels: 4 })).toThrow(/sentinels \(4\)[^\n]*odd/);
  });

  it('fails when sentinels is not a whole number', () => {
    expect(() => make({ sentinels: 2.5 })).toThrow(/sentinels \(2\.5\)[^\n]*whole number/);
  });

  it('fails when sentinels is 0', () => {
    expect(() => make({ sentinels: 0 })).toThrow(/sentinels \(0\)/);
  });

  it('fails when sentinels is 0 even with allowUnsafeSentinelCount', () => {
    expect(() => make({ sentinels: 0, allowUnsafeSentinelCount: true })).toThrow(/sentinels \(0\)/);
  });

  // --- quorum ----------------------------------------------------------------------------------
  it('fails when quorum is 0', () => {
    expect(() => make({ quorum: 0 })).toThrow(/quorum \(0\)/);
  });

  it('fails when quorum is larger than sentinels', () => {
    expect(() => make({ sentinels: 3, quorum: 4 })).toThrow(/quorum \(4\)[^\n]*sentinels \(3\)/);
  });

  it('fails when quorum is below a majority without allowMinorityQuorum', () => {
    expect(() => make({ sentinels: 5, quorum: 2 })).toThrow(/quorum \(2\)[^\n]*majority[^\n]*allowMinorityQuorum/);
  });

  it('fails when quorum is not a whole number', () => {
    expect(() => make({ quorum: 1.5 })).toThrow(/quorum \(1\.5\)/);
  });

  it('fails when quorum is larger than sentinels even with allowMinorityQuorum', () => {
    expect(() => make({ sentinels: 3, quorum: 5, allowMinorityQuorum: true })).toThrow(/quorum \(5\)/);
  });

  // --- replicas --------------------------------------------------------------------------------
  it('fails when replicas is -1', () => {
    expect(() => make({ replicas: -1 })).toThrow(/replicas \(-1\)/);
  });

  it('fails when replicas is 1.5', () => {
    expect(() => make({ replicas: 1.5 })).toThrow(/replicas \(1\.5\)/);
  });

  // --- timing ----------------------------------------------------------------------------------
  it('fails when downAfter is 0', () => {
    expect(() => make({ downAfter: Duration.millis(0) })).toThrow(/downAfter \(0 ms\)/);
  });

  it('fails when failoverTimeout is shorter than downAfter', () => {
    expect(() => make({ downAfter: Duration.seconds(5), failoverTimeout: Duration.seconds(3) }))
      .toThrow(/failoverTimeout \(3000 ms\)[^\n]*downAfter \(5000 ms\)/);
  });

  it('fails when parallelSyncs is 0', () => {
    expect(() => make({ parallelSyncs: 0 })).toThrow(/parallelSyncs \(0\)/);
  });

  it('fails when minReplicasToWrite exceeds replicas', () => {
    expect(() => make({ replicas: 2, minReplicasToWrite: 3 })).toThrow(/minReplicasToWrite \(3\)[^\n]*replicas \(2\)/);
  });

  it('fails when minReplicasToWrite is negative', () => {
    expect(() => make({ minReplicasToWrite: -1 })).toThrow(/minReplicasToWrite \(-1\)/);
  });

  it('fails when minReplicasMaxLag is 1500ms (not whole seconds)', () => {
    expect(() => make({ minReplicasMaxLag: Duration.millis(1500) })).toThrow(/minReplicasMaxLag \(1500 ms\)/);
  });

  it('fails when minReplicasMaxLag is 0', () => {
    expect(() => make({ minReplicasMaxLag: Duration.millis(0) })).toThrow(/minReplicasMaxLag \(0 ms\)/);
  });

  // --- masterName ------------------------------------------------------------------------------
  it('fails when masterName contains a space', () => {
    expect(() => make({ masterName: 'my master' })).toThrow(/masterName \('my master'\)/);
  });

  it('fails when masterName contains a comma', () => {
    expect(() => make({ masterName: 'my,master' })).toThrow(/masterName \('my,master'\)/);
  });

  it('fails when masterName contains a quote', () => {
    expect(() => make({ masterName: 'my"master' })).toThrow(/masterName \('my"master'\)/);
  });

  it('fails when masterName contains a single quote', () => {
    expect(() => make({ masterName: "my'master" })).toThrow(/masterName \('my'master'\)/);
  });

  it('fails when masterName is empty', () => {
    expect(() => make({ masterName: '' })).toThrow(/masterName \(''\)/);
  });

  it('fails when masterName is longer than 128 characters', () => {
    const long = 'm'.repeat(129);
    expect(() => make({ masterName: long })).toThrow(new RegExp(`masterName \\('${long}'\\)`));
  });

  // --- names and DNS ---------------------------------------------------------------------------
  it('fails when name has uppercase letters', () => {
    expect(() => make({ name: 'Redis' })).toThrow(/name \('Redis'\)[^\n]*DNS-1035/);
  });

  it('fails when name starts with a digit', () => {
    expect(() => make({ name: '1redis' })).toThrow(/name \('1redis'\)/);
  });

  it('fails when name is too long for the 52-character StatefulSet limit', () => {
    // 44 + '-sentinel' = 53 characters.
    const long = 'r'.repeat(44);
    expect(() => make({ name: long })).toThrow(new RegExp(`name \\('${long}'[^\\n]*StatefulSet[^\\n]*52`));
  });

  it('fails when the chart id (the default name) is too long', () => {
    const long = 'r'.repeat(50);
    expect(() => new RedisSentinelChart(testApp(), long, {})).toThrow(new RegExp(`name \\('${long}'`));
  });

  it('fails when namespace is invalid', () => {
    expect(() => make({ namespace: 'Bad_Namespace' })).toThrow(/namespace \('Bad_Namespace'\)/);
  });

  it('fails when namespace is longer than 63 characters', () => {
    const long = 'n'.repeat(64);
    expect(() => make({ namespace: long })).toThrow(new RegExp(`namespace \\('${long}'\\)[^\\n]*63`));
  });

  it('fails when clusterDomain is invalid', () => {
    expect(() => make({ clusterDomain: 'Cluster..Local' })).toThrow(/clusterDomain \('Cluster\.\.Local'\)/);
  });

  it('fails when clusterDomain has a trailing dot', () => {
    expect(() => make({ clusterDomain: 'cluster.local.' })).toThrow(/clusterDomain \('cluster\.local\.'\)/);
  });

  // --- storage ---------------------------------------------------------------------------------
  it('fails when storageSize is 0', () => {
    expect(() => make({ storageSize: Size.gibibytes(0) })).toThrow(/storageSize \(0Gi\)/);
  });

  it('fails when sentinelStorageSize is 0', () => {
    expect(() => make({ sentinelStorageSize: Size.mebibytes(0) })).toThrow(/sentinelStorageSize \(0Mi\)/);
  });

  it('fails when storageClassName is invalid', () => {
    expect(() => make({ storageClassName: 'Fast SSD' })).toThrow(/storageClassName \('Fast SSD'\)/);
  });

  // --- memory and resources --------------------------------------------------------------------
  it('fails when maxmemory is above the redisResources memory limit', () => {
    expect(() => make({
      maxmemory: Size.gibibytes(2),
      redisResources: { memory: { request: Size.mebibytes(512), limit: Size.gibibytes(1) } },
    })).toThrow(/maxmemory \(2Gi\)[^\n]*limit \(1Gi\)/);
  });

  it('fails when maxmemory is above the default memory limit', () => {
    expect(() => make({ maxmemory: Size.gibibytes(4) })).toThrow(/maxmemory \(4Gi\)[^\n]*1Gi/);
  });

  it('fails when the redis memory request is larger than its limit', () => {
    expect(() => make({
      redisResources: { memory: { request: Size.gibibytes(2), limit: Size.gibibytes(1) } },
    })).toThrow(/redisResources\.memory\.request \(2Gi\)[^\n]*1Gi/);
  });

  it('fails when the sentinel cpu request is larger than its limit', () => {
    expect(() => make({
      sentinelResources: { cpu: { request: Cpu.millis(500), limit: Cpu.millis(200) } },
    })).toThrow(/sentinelResources\.cpu\.request \(500m\)[^\n]*200m/);
  });

  it('fails when maxmemoryPolicy is not a Redis policy, listing the valid ones', () => {
    expect(() => make({ maxmemoryPolicy: MaxmemoryPolicy.of('lru-everything') }))
      .toThrow(/maxmemoryPolicy \('lru-everything'\) must be one of noeviction, allkeys-lru, [^\n]*MaxmemoryPolicy\.of\('allkeys-lru'\)/);
  });

  it('MaxmemoryPolicy.of takes the redis.conf spelling and returns the same policy as the static member', () => {
    expect(MaxmemoryPolicy.of('allkeys-lru')).toBe(MaxmemoryPolicy.ALLKEYS_LRU);
    expect(MaxmemoryPolicy.all().map((m) => `${m}`)).toEqual([
      'noeviction', 'allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl',
    ]);
    expect(settingsOf({ maxmemoryPolicy: MaxmemoryPolicy.of('volatile-ttl') }).maxmemoryPolicy.value).toBe('volatile-ttl');
  });

  // --- ports -----------------------------------------------------------------------------------
  it('fails when redisPort is 0', () => {
    expect(() => make({ redisPort: 0 })).toThrow(/redisPort \(0\)/);
  });

  it('fails when sentinelPort is 70000', () => {
    expect(() => make({ sentinelPort: 70000 })).toThrow(/sentinelPort \(70000\)/);
  });

  it('fails when redisPort equals sentinelPort', () => {
    expect(() => make({ redisPort: 7000, sentinelPort: 7000 })).toThrow(/redisPort[^\n]*sentinelPort[^\n]*7000/);
  });

  it('fails when dnsPort is 0', () => {
    expect(() => make({ dnsPort: 0 })).toThrow(/dnsPort \(0\)/);
  });

  // --- images ----------------------------------------------------------------------------------
  it("fails when image is ':latest'", () => {
    expect(() => make({ image: 'redis:latest' })).toThrow(/image \('redis:latest'\)/);
  });

  it('fails when image has no tag', () => {
    expect(() => make({ image: 'redis' })).toThrow(/image \('redis'\)/);
  });

  it('fails when image has a registry port but no tag', () => {
    expect(() => make({ image: 'registry.local:5000/redis' })).toThrow(/image \('registry\.local:5000\/redis'\)/);
  });

  it("fails when sentinelImage is ':latest'", () => {
    expect(() => make({ sentinelImage: 'redis:latest' })).toThrow(/sentinelImage \('redis:latest'\)/);
  });

  it('fails when an imagePullSecrets entry is invalid', () => {
    expect(() => make({ imagePullSecrets: ['Reg_Cred'] })).toThrow(/imagePullSecrets[^\n]*'Reg_Cred'/);
  });

  // --- auth ------------------------------------------------------------------------------------
  it('fails when the auth Secret name is invalid', () => {
    expect(() => make({ auth: RedisAuth.fromSecret({ secretName: 'Redis_Auth' }) })).toThrow(/auth secretName \('Redis_Auth'\)/);
  });

  it('fails when the auth Secret key is invalid', () => {
    expect(() => make({ auth: RedisAuth.fromSecret({ secretKey: 'pass word' }) })).toThrow(/auth secretKey \('pass word'\)/);
  });

  // --- redisConfig -----------------------------------------------------------------------------
  it("fails when redisConfig overrides 'replicaof'", () => {
    expect(() => make({ redisConfig: { replicaof: 'other-host 6379' } })).toThrow(/redisConfig\['replicaof'\][^\n]*managed/);
  });

  it("fails when redisConfig overrides 'requirepass'", () => {
    expect(() => make({ redisConfig: { requirepass: 'hunter2' } })).toThrow(/redisConfig\['requirepass'\]/);
  });

  it('fails when a redisConfig value has a newline', () => {
    expect(() => make({ redisConfig: { maxclients: '100\nreplicaof evil 6379' } }))
      .toThrow(/redisConfig\['maxclients'\] \('100\nreplicaof evil 6379'\)/);
  });

  it('fails when a redisConfig key is not a directive name', () => {
    expect(() => make({ redisConfig: { 'Max Clients': '100' } })).toThrow(/redisConfig key 'Max Clients'/);
  });

  // --- labels and scheduling -------------------------------------------------------------------
  it('fails when a clientPodLabels key is invalid', () => {
    expect(() => make({ clientPodLabels: { 'bad key!': 'true' } })).toThrow(/clientPodLabels key 'bad key!'/);
  });

  it('fails when a clientPodLabels value is invalid', () => {
    expect(() => make({ clientPodLabels: { role: 'not valid!' } })).toThrow(/clientPodLabels\['role'\] value 'not valid!'/);
  });

  it('fails when clientPodLabels is empty', () => {
    expect(() => make({ clientPodLabels: {} })).toThrow(/clientPodLabels is empty/);
  });

  it('fails when a clientNamespaceLabels key is invalid', () => {
    expect(() => make({ clientNamespaceLabels: { 'a/b/c': 'x' } })).toThrow(/clientNamespaceLabels key 'a\/b\/c'/);
  });

  it('fails when a nodeSelector value is invalid', () => {
    expect(() => make({ nodeSelector: { pool: '-redis-' } })).toThrow(/nodeSelector\['pool'\] value '-redis-'/);
  });

  it('fails when priorityClassName is invalid', () => {
    expect(() => make({ priorityClassName: 'High Priority' })).toThrow(/priorityClassName \('High Priority'\)/);
  });

  it('fails when runAsUser is 0 (root)', () => {
    expect(() => make({ runAsUser: 0 })).toThrow(/runAsUser \(0\)/);
  });

  it('fails when runAsGroup is 0', () => {
    expect(() => make({ runAsGroup: 0 })).toThrow(/runAsGroup \(0\)/);
  });

  it('fails when exporterImage is a redis_exporter older than v1.80.2 (no config-epoch metric)', () => {
    expect(() => make({ monitoring: { exporterImage: 'oliver006/redis_exporter:v1.45.0' } }))
      .toThrow(/monitoring\.exporterImage \('oliver006\/redis_exporter:v1\.45\.0'\) is older than redis_exporter v1\.80\.2[^\n]*RedisSentinelFailover/);
    expect(() => make({ monitoring: { exporterImage: 'oliver006/redis_exporter:v1.80.1' } })).toThrow(/older than redis_exporter v1\.80\.2/);
    expect(() => make({ monitoring: { exporterImage: 'oliver006/redis_exporter:v1.80.2' } })).not.toThrow();
  });

  // --- backup and restore ----------------------------------------------------------------------
  it('fails when backup.schedule has 4 fields', () => {
    expect(() => make({ backup: { schedule: cron('0 2 * *') } })).toThrow(/backup\.schedule \('0 2 \* \*'\)[^\n]*5 fields[^\n]*'0 2 \* \* \*'/);
  });

  it('fails when backup.schedule has an hour of 25', () => {
    expect(() => make({ backup: { schedule: cron('0 25 * * *') } })).toThrow(/backup\.schedule \('0 25 \* \* \*'\)[^\n]*25 is outside 0-23 in the hour field/);
  });

  it('fails when backup.schedule never runs (February 30)', () => {
    expect(() => make({ backup: { schedule: cron('0 0 30 2 *') } })).toThrow(/backup\.schedule \('0 0 30 2 \*'\)[^\n]*never runs/);
  });

  it('fails when backup.schedule carries a TZ= prefix', () => {
    expect(() => make({ backup: { schedule: cron('TZ=UTC 0 2 * * *') } })).toThrow(/backup\.schedule \('TZ=UTC 0 2 \* \* \*'\)[^\n]*time zone prop/);
  });

  it('fails when backup.retention is 0', () => {
    expect(() => make({ backup: { retention: 0 } })).toThrow(/backup\.retention \(0\)[^\n]*between 1 and 1000/);
  });

  it('fails when backup.retention is 2.5', () => {
    expect(() => make({ backup: { retention: 2.5 } })).toThrow(/backup\.retention \(2\.5\)[^\n]*whole number/);
  });

  it('fails when backup.storageSize is 0', () => {
    expect(() => make({ backup: { storageSize: Size.gibibytes(0) } })).toThrow(/backup\.storageSize \(0Gi\)[^\n]*positive size/);
  });

  it('fails when backup.timeZone is not an IANA name', () => {
    expect(() => make({ backup: { timeZone: 'Central European Time' } })).toThrow(/backup\.timeZone \('Central European Time'\)[^\n]*IANA/);
  });

  it('fails when backup.deadline is 30 seconds', () => {
    expect(() => make({ backup: { deadline: Duration.seconds(30) } })).toThrow(/backup\.deadline \(30000 ms\)[^\n]*>= 60/);
  });

  it('fails when backup.maxAge is shorter than the time between two scheduled runs', () => {
    expect(() => make({ backup: { schedule: cron('0 2 * * *'), maxAge: Duration.hours(12) } }))
      .toThrow(/backup\.maxAge \(43200 s\)[^\n]*86400 s between two runs[^\n]*at least 90000 s/);
  });

  it('fails when backup.existingClaim is combined with backup.storageSize', () => {
    expect(() => make({ backup: { existingClaim: 'kept', storageSize: Size.gibibytes(5) } }))
      .toThrow(/backup\.storageSize is set but backup\.existingClaim \('kept'\)[^\n]*remove backup\.storageSize/);
  });

  it('fails when backup.existingClaim is not a claim name', () => {
    expect(() => make({ backup: { existingClaim: 'Bad_Claim' } })).toThrow(/backup\.existingClaim \('Bad_Claim'\)[^\n]*PersistentVolumeClaim name/);
  });

  it('fails when restore.file is a path', () => {
    expect(() => make({ restore: { file: '../etc/passwd' } })).toThrow(/restore\.file \('\.\.\/etc\/passwd'\)[^\n]*no '\/'[^\n]*'latest'/);
  });

  // --- S3 -------------------------------------------------------------------------------------
  const S3 = { bucket: 'redis-backups', credentialsSecret: 's3-keys' };
  it('fails when backup.s3.bucket is not a bucket name', () => {
    expect(() => make({ backup: { s3: { ...S3, bucket: 'My_Bucket' } } })).toThrow(/backup\.s3\.bucket \('My_Bucket'\) must be an S3 bucket name/);
  });

  it('fails when backup.s3 has no credentials, or both kinds', () => {
    expect(() => make({ backup: { s3: { bucket: 'b-1' } } }))
      .toThrow(/backup\.s3 needs credentials: set backup\.s3\.credentialsSecret [^\n]*or backup\.s3\.serviceAccountAnnotations/);
    expect(() => make({ backup: { s3: { ...S3, serviceAccountAnnotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/r' } } } }))
      .toThrow(/backup\.s3\.credentialsSecret and backup\.s3\.serviceAccountAnnotations are both set/);
  });

  it('fails when backup.s3.prefix starts with a slash or climbs up', () => {
    expect(() => make({ backup: { s3: { ...S3, prefix: '/redis' } } })).toThrow(/backup\.s3\.prefix \('\/redis'\)[^\n]*without a leading or trailing '\/'/);
    expect(() => make({ backup: { s3: { ...S3, prefix: 'a/../b' } } })).toThrow(/backup\.s3\.prefix \('a\/\.\.\/b'\)/);
  });

  it('fails when backup.s3.endpoint has a path or another scheme', () => {
    expect(() => make({ backup: { s3: { ...S3, endpoint: 'https://minio:9000/bucket' } } })).toThrow(/backup\.s3\.endpoint \('https:\/\/minio:9000\/bucket'\) must be an http\(s\) URL/);
    expect(() => make({ backup: { s3: { ...S3, endpoint: 'ftp://minio' } } })).toThrow(/backup\.s3\.endpoint \('ftp:\/\/minio'\)/);
  });

  it('fails when backup.s3.kmsKeyId is set without aws:kms encryption', () => {
    expect(() => make({ backup: { s3: { ...S3, kmsKeyId: 'alias/redis' } } }))
      .toThrow(/backup\.s3\.kmsKeyId is set but backup\.s3\.serverSideEncryption is not set: set serverSideEncryption: S3ServerSideEncryption\.AWS_KMS/);
  });

  it('fails when backup.s3.egressCidrs is empty or holds no CIDR', () => {
    expect(() => make({ backup: { s3: { ...S3, egressCidrs: [] } } })).toThrow(/backup\.s3\.egressCidrs is empty[^\n]*any address on port 443/);
    expect(() => make({ backup: { s3: { ...S3, egressCidrs: ['10.0.0.300/32'] } } })).toThrow(/backup\.s3\.egressCidrs entry '10\.0\.0\.300\/32' must be a CIDR/);
  });

  it('fails when backup.s3.retention is 0, or accessKeyIdKey is set without a Secret', () => {
    expect(() => make({ backup: { s3: { ...S3, retention: 0 } } })).toThrow(/backup\.s3\.retention \(0\) must be a whole number of backups to keep in the bucket/);
    expect(() => make({ backup: { s3: { bucket: 'b-1', serviceAccountAnnotations: {}, accessKeyIdKey: 'id' } } }))
      .toThrow(/backup\.s3\.accessKeyIdKey is set without backup\.s3\.credentialsSecret/);
  });

  it('fails when restore.s3 is combined with restore.claimName', () => {
    expect(() => make({ restore: { file: 'latest', claimName: 'old', s3: S3 } })).toThrow(/restore\.claimName \('old'\) and restore\.s3 are both set/);
  });

  it('fails when backup.resources requests more memory than its limit', () => {
    expect(() => make({ backup: { resources: { memory: { request: Size.gibibytes(2), limit: Size.gibibytes(1) } } } }))
      .toThrow(/backup\.resources\.memory\.request \(2Gi\) exceeds its limit \(1Gi\)/);
  });

  // --- tls -------------------------------------------------------------------------------------
  it('fails when tls certificate options are unusable: secret name, issuer, duration, renewBefore', () => {
    const cm = (o: Partial<CertManagerCertificateOptions>) => ({ tls: { certificate: CertificateSource.fromCertManager({ issuerName: 'ca', ...o }) } });
    expect(() => make({ tls: { certificate: CertificateSource.fromSecret({ secretName: 'Bad_Name' }) } })).toThrow(/tls\.certificate secretName \('Bad_Name'\)[^\n]*Secret name/);
    expect(() => make(cm({ issuerName: '' }))).toThrow(/tls\.certificate issuerName \(''\)[^\n]*Issuer or ClusterIssuer/);
    expect(() => make(cm({ issuerKind: 'cluster-issuer' }))).toThrow(/tls\.certificate issuerKind \('cluster-issuer'\)[^\n]*'ClusterIssuer'/);
    expect(() => make(cm({ duration: Duration.minutes(30) }))).toThrow(/tls\.certificate duration \(0\.5 h\)[^\n]*at least 1/);
    expect(() => make(cm({ duration: Duration.days(10), renewBefore: Duration.days(10) }))).toThrow(/tls\.certificate renewBefore \(240 h\)[^\n]*less than duration \(240 h\)/);
    // One message per mistake: a bad duration does not also fail renewBefore.
    expect(errorOf(cm({ duration: Duration.minutes(30) })).message.split('\n').filter((l) => l.includes('renewBefore'))).toEqual([]);
  });

  it('fails when exporterExtraArgs sets the TLS files the library sets', () => {
    expect(() => make({ tls: {}, monitoring: { exporterExtraArgs: ['--tls-ca-cert-file=/x'] } })).toThrow(/exporterExtraArgs entry '--tls-ca-cert-file=\/x'[^\n]*--tls-\* files from tls/);
  });

  it('fails when redisConfig sets a TLS directive the library manages', () => {
    expect(() => make({ redisConfig: { 'tls-cert-file': '/x' } })).toThrow(/redisConfig\['tls-cert-file'\][^\n]*managed by the library/);
  });
});

describe('the error', () => {
  it('is a RedisSentinelConfigError whose problems each name a prop', () => {
    const err = errorOf({ sentinels: 4 });
    expect(err).toBeInstanceOf(RedisSentinelConfigError);
    expect(err.name).toBe('RedisSentinelConfigError');
    expect(err.problems.length).toBeGreaterThan(0);
    for (const p of err.problems) expect(err.message).toContain(p);
  });

  it('lists ALL problems at once (two bad props -> both named)', () => {
    const err = errorOf({ sentinels: 4, image: 'redis:latest' });
    expect(err.message).toMatch(/sentinels \(4\)/);
    expect(err.message).toMatch(/image \('redis:latest'\)/);
    expect(err.problems.some((p) => /sentinels \(4\)/.test(p))).toBe(true);
    expect(err.problems.some((p) => /image \('redis:latest'\)/.test(p))).toBe(true);
  });

  it('lists many problems at once, one per bad prop', () => {
    const err = errorOf({
      replicas: -1, parallelSyncs: 0, masterName: 'a b', redisPort: 0, namespace: 'NS', storageSize: Size.gibibytes(0),
    });
    for (const re of [/replicas \(-1\)/, /parallelSyncs \(0\)/, /masterName \('a b'\)/, /redisPort \(0\)/, /namespace \('NS'\)/, /storageSize \(0Gi\)/]) {
      expect(err.problems.some((p) => re.test(p))).toBe(true);
    }
  });

  it('names where it was thrown: the construct path of the deployment, in the user\'s own Chart too', () => {
    const chart = new Chart(testApp(), 'my-app', { namespace: 'apps' });
    expect(() => new RedisSentinel(chart, 'cache', { sentinels: 2 })).toThrow(/at my-app\/cache:\n[^\n]*sentinels \(2\)/);
    expect(errorOf({ sentinels: 2 }).constructPath).toBe('redis/Resource');
  });

  it('one mistake gives one message, not a cascade', () => {
    // replicas -1 used to also report minReplicasToWrite; an invalid name used to give three errors.
    expect(errorOf({ replicas: -1 }).problems).toHaveLength(1);
    expect(errorOf({ sentinels: 0 }).problems).toHaveLength(1);
    expect(errorOf({ name: 'Redis_Cache' }).problems).toHaveLength(1);
    expect(errorOf({ downAfter: Duration.seconds(0) }).problems).toHaveLength(1);
    expect(errorOf({ redisPort: 0 }).problems).toHaveLength(1);
  });

  it.each<[string, RedisSentinelChartProps, RegExp]>([
    ['replicas -1 with minReplicasToWrite', { replicas: -1, minReplicasToWrite: 2 }, /^replicas \(-1\)/],
    ['an invalid name, with backups and monitoring (names, client label, Service names derive from it)', { name: 'Bad_Id', backup: {}, monitoring: {} }, /^name \('Bad_Id'\)/],
    ['a name too long for the StatefulSets (the default client label derives from it)', { name: 'x'.repeat(60), backup: {}, monitoring: {} }, /^name \('x{60}', 60 characters\)/],
    ['storageSize 0 with backups (backup.storageSize defaults to it)', { storageSize: Size.gibibytes(0), backup: {} }, /^storageSize \(0Gi\)/],
    ['an invalid namespace with monitoring (monitoring.namespace defaults to it)', { namespace: 'Bad_NS', monitoring: {}, backup: {} }, /^namespace \('Bad_NS'\)/],
    ['an invalid backup schedule with maxAge (checked against the schedule)', { backup: { schedule: cron('bad'), maxAge: Duration.hours(1) } }, /^backup\.schedule \('bad'\)/],
  ])('one mistake gives one message: %s', (_label, props, message) => {
    expect(errorOf(props).problems).toEqual([expect.stringMatching(message)]);
  });
});

describe('opt-ins', () => {
  it('accepts sentinels 2 with allowUnsafeSentinelCount', () => {
    const chart = make({ sentinels: 2, allowUnsafeSentinelCount: true });
    expect(chart.redis._settings.sentinels).toBe(2);
    expect(chart.redis.quorum).toBe(2);
  });

  it('accepts sentinels 1 and 4 with allowUnsafeSentinelCount', () => {
    expect(make({ sentinels: 1, allowUnsafeSentinelCount: true }).redis.quorum).toBe(1);
    expect(make({ sentinels: 4, allowUnsafeSentinelCount: true }).redis.quorum).toBe(3);
  });

  it('accepts quorum 1 of 3 with allowMinorityQuorum', () => {
    const chart = make({ sentinels: 3, quorum: 1, allowMinorityQuorum: true });
    expect(chart.redis.quorum).toBe(1);
    const sentinelConf = Testing.synth(chart).find((o: any) => o.kind === 'ConfigMap' && o.metadata.name === 'redis-sentinel-config');
    expect(sentinelConf.data['sentinel.conf']).toMatch(/^sentinel monitor mymaster \S+ 6379 1$/m);
  });

  it('accepts a majority quorum without any opt-in', () => {
    expect(make({ sentinels: 5, quorum: 4 }).redis.quorum).toBe(4);
  });

  it('accepts replicas 0 (and then defaults minReplicasToWrite to 0)', () => {
    expect(make({ replicas: 0 }).redis._settings.minReplicasToWrite).toBe(0);
  });
});

describe('when validation fails', () => {
  it('nothing is emitted', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-sentinel-invalid-'));
    try {
      // The example app (src/main.ts), with bad props.
      const app = new App({ outdir });
      let caught: unknown;
      try {
        new RedisSentinelChart(app, 'redis-sentinel', { name: 'redis', sentinels: 2, image: 'redis:latest' });
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(RedisSentinelConfigError);
      expect(app.charts).toHaveLength(0);
      app.synth();
      const written = fs.readdirSync(outdir).filter((f) => f.endsWith('.k8s.yaml'));
      expect(written).toEqual([]);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });

  it('the same app with valid props does emit a manifest (control)', () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'redis-sentinel-valid-'));
    try {
      const app = new App({ outdir });
      new RedisSentinelChart(app, 'redis-sentinel', { name: 'redis' });
      app.synth();
      expect(fs.readdirSync(outdir).filter((f) => f.endsWith('.k8s.yaml'))).toEqual(['redis-sentinel.k8s.yaml']);
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
});

/** GPG 45 profiles: every published profile's boundary, evidence matching, and scores from OIDC4IDA evidence. */
import { describe, expect, it } from 'vitest';
import { defaultPoliciesDir, evidenceWithScores, loadPolicies, profileMet, scoresFromEvidence, ScoresError, type Gpg45Scores } from '../src/index.js';

const levels = loadPolicies(defaultPoliciesDir, { now: new Date('2026-11-23') }).levels;
const profiles = levels.profiles();

/** Every score set one point short of `s` in exactly one place (a piece of evidence may also be missing). */
function oneShort(s: Gpg45Scores): Array<{ what: string; scores: Gpg45Scores }> {
  const out: Array<{ what: string; scores: Gpg45Scores }> = [];
  for (const k of ['activity', 'fraud', 'verification'] as const) {
    if (s[k] > 0) out.push({ what: `${k} ${s[k] - 1}`, scores: { ...s, evidence: s.evidence.map((e) => ({ ...e })), [k]: s[k] - 1 } });
  }
  s.evidence.forEach((e, i) => {
    for (const k of ['strength', 'validity'] as const) {
      if (e[k] > 0) out.push({ what: `evidence ${i} ${k} ${e[k] - 1}`, scores: { ...s, evidence: s.evidence.map((x, j) => (j === i ? { ...x, [k]: x[k] - 1 } : { ...x })) } });
    }
    out.push({ what: `evidence ${i} missing`, scores: { ...s, evidence: s.evidence.filter((_, j) => j !== i) } });
  });
  return out;
}

describe('GPG 45 profiles in levels.yaml', () => {
  it('holds the published low, medium and high profiles (GOV.UK One Login identity core)', () => {
    const byLevel = (c: string) => profiles.filter((p) => p.confidence === c).map((p) => p.name);
    expect(byLevel('P1')).toEqual(['L1A', 'L1B', 'L1C', 'L2A', 'L2B', 'L3A']);
    expect(byLevel('P2')).toEqual(['M1A', 'M1B', 'M1C', 'M1D', 'M2A', 'M2B', 'M2C', 'M3A']);
    expect(byLevel('P3')).toEqual(['H1A', 'H1B', 'H1C', 'H2A', 'H2B', 'H2C', 'H2D', 'H2E', 'H3A']);
    expect(levels.formatScores(profiles.find((p) => p.name === 'M1B')!.scores)).toBe('[32], 1, 2, 2');
    expect(levels.formatScores(profiles.find((p) => p.name === 'M2C')!.scores)).toBe('[32, 22], 0, 1, 3');
    expect(levels.formatScores(profiles.find((p) => p.name === 'H2B')!.scores)).toBe('[42, 32], 0, 2, 3');
  });

  describe.each(profiles.map((p) => [p.name, p] as const))('%s', (name, profile) => {
    it('the exact profile passes and reaches its level', () => {
      expect(profileMet(profile.scores, profile.scores)).toBe(true);
      expect(levels.confidenceFromScores(profile.scores, [name])).toEqual({ confidence: profile.confidence, profile: name });
      expect(levels.confidenceRank(levels.confidenceFromScores(profile.scores).confidence)).toBeGreaterThanOrEqual(levels.confidenceRank(profile.confidence));
    });
    it('every score set one point short fails it', () => {
      const shorts = oneShort(profile.scores);
      expect(shorts.length).toBeGreaterThan(0);
      for (const short of shorts) {
        expect({ what: short.what, met: profileMet(profile.scores, short.scores) }).toEqual({ what: short.what, met: false });
        const decided = levels.confidenceFromScores(short.scores, [name]);
        expect(levels.confidenceRank(decided.confidence)).toBeLessThan(levels.confidenceRank(profile.confidence));
      }
    });
  });

  it('evidence is matched in any order, each piece at most once', () => {
    const m2b = profiles.find((p) => p.name === 'M2B')!.scores; // [32, 22], 1, 1, 2
    expect(profileMet(m2b, { evidence: [{ strength: 2, validity: 2 }, { strength: 3, validity: 2 }], activity: 1, fraud: 1, verification: 2 })).toBe(true);
    expect(profileMet(m2b, { evidence: [{ strength: 4, validity: 4 }], activity: 4, fraud: 4, verification: 4 })).toBe(false);
    expect(levels.confidenceFromScores({ evidence: [{ strength: 4, validity: 4 }], activity: 4, fraud: 4, verification: 4 }).confidence).toBe('P3');
    expect(levels.confidenceFromScores(undefined)).toEqual({ confidence: 'P0' });
  });

  it('a provider certified for fewer profiles reaches only what those give', () => {
    const h1a = profiles.find((p) => p.name === 'H1A')!.scores;
    expect(levels.confidenceFromScores(h1a).confidence).toBe('P3');
    expect(levels.confidenceFromScores(h1a, ['L1A', 'M1A']).confidence).toBe('P2');
    expect(levels.confidenceFromScores(h1a, ['L1A'])).toEqual({ confidence: 'P1', profile: 'L1A' });
    expect(levels.confidenceFromScores(h1a, [])).toEqual({ confidence: 'P0' });
  });
});

describe('scores in OIDC4IDA verification.evidence', () => {
  it('reads strength and validity per piece, and the highest activity, fraud and verification', () => {
    const evidence = [
      { type: 'document', document_details: { type: 'passport' }, strengthScore: 4, validityScore: 2, verificationScore: 2 },
      { type: 'electronic_record', strengthScore: 2, validityScore: 2, activityHistoryScore: 1 },
      { type: 'electronic_record', identityFraudScore: 1 },
    ];
    expect(scoresFromEvidence(evidence)).toEqual({ evidence: [{ strength: 4, validity: 2 }, { strength: 2, validity: 2 }], activity: 1, fraud: 1, verification: 2 });
    const scores: Gpg45Scores = { evidence: [{ strength: 3, validity: 2 }, { strength: 2, validity: 2 }], activity: 1, fraud: 1, verification: 2 };
    expect(scoresFromEvidence(evidenceWithScores(scores))).toEqual(scores);
  });

  it('no scores at all is undefined; a bad score is refused naming the item and field', () => {
    expect(scoresFromEvidence(undefined)).toBeUndefined();
    expect(scoresFromEvidence([{ type: 'document' }])).toBeUndefined();
    expect(() => scoresFromEvidence([{ strengthScore: 5, validityScore: 2 }])).toThrow(new ScoresError('evidence.0.strengthScore must be a whole number from 0 to 4'));
    expect(() => scoresFromEvidence([{}, { strengthScore: 3 }])).toThrow(/evidence.1 has strengthScore without validityScore/);
    expect(() => scoresFromEvidence('x')).toThrow(ScoresError);
  });
});

describe('authentication from amr (GPG 44 authenticators in levels.yaml)', () => {
  it('decides the highest level whose authenticator set is present', () => {
    expect(levels.authenticationFromAmr(['pwd'])).toBe('Cl');
    expect(levels.authenticationFromAmr(['pwd', 'otp'])).toBe('Cl.Cm');
    expect(levels.authenticationFromAmr(['pwd', 'hwk', 'user'])).toBe('Cl.Cm.Cp');
    expect(levels.authenticationFromAmr(['otp'])).toBe('Cl');
    expect(levels.authenticationFromAmr([])).toBeUndefined();
    expect(levels.authenticationFromAmr(undefined)).toBeUndefined();
    for (const a of levels.authentication) expect(a.authenticators.requirement).toMatch(/GPG 44/);
  });
});

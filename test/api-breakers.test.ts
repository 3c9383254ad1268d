/**
 * Which breaker an API call goes through: its service's, named by the first segment of its
 * path; the authentication service's is the session's own; a table that cannot grow
 * without bound.
 */
import { describe, expect, it } from 'vitest';
import { OTHER, ServiceBreakers, serviceOf } from '../lib/core/api-breakers.ts';
import type { ArgusBreaker } from '../lib/core/breaker.ts';

describe('serviceOf', () => {
  it.each([
    ['/cases/v2/case?limit=1', 'cases'],
    ['/currentuser/v1/user', 'currentuser'],
    ['/Authentication/v1/session', 'authentication'],
    ['/assets/v1?x=1', 'assets'],
    ['/events#frag', 'events'],
    ['cases/v2', 'cases'],
    ['/', OTHER],
    ['//host/x', OTHER],
    ['/%2e%2e/x', OTHER],
    ['/a b/c', OTHER],
    [`/${'s'.repeat(65)}/x`, OTHER],
  ])('reads %s as %s', (path, service) => {
    expect(serviceOf(path)).toBe(service);
  });
});

describe('ServiceBreakers', () => {
  const fake = (name: string) => ({ name, state: 'closed' }) as unknown as ArgusBreaker;

  it('gives the authentication service the session’s own breaker, and each other service one of its own', () => {
    const authentication = fake('authentication');
    const made: string[] = [];
    const breakers = new ServiceBreakers(authentication, (service) => {
      made.push(service);
      return fake(service);
    });
    expect(breakers.forPath('/authentication/v1/session')).toBe(authentication);
    const cases = breakers.forPath('/cases/v2/case');
    expect(breakers.forPath('/cases/v1/other')).toBe(cases);
    expect(breakers.forPath('/assets/v1/host')).not.toBe(cases);
    expect(made).toEqual(['cases', 'assets']);
  });

  it('shares one breaker among the services past the 32nd', () => {
    const breakers = new ServiceBreakers(fake('authentication'), fake);
    for (let i = 0; i < 32; i++) breakers.forPath(`/service${i}/x`);
    const late = breakers.forPath('/late/x');
    expect(breakers.forPath('/later/x')).toBe(late);
    expect(breakers.forPath('/service0/x')).not.toBe(late);
    expect((late as unknown as { name: string }).name).toBe(OTHER);
  });

  it('lists the services whose breaker is open', () => {
    const breakers = new ServiceBreakers(
      fake('authentication'),
      (service) => ({ state: service === 'cases' ? 'open' : 'closed' }) as unknown as ArgusBreaker,
    );
    breakers.forPath('/cases/x');
    breakers.forPath('/assets/x');
    expect(breakers.openServices()).toEqual(['cases']);
  });
});

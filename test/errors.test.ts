import { describe, expect, it } from 'vitest'
import * as library from '../src/index.js'
import { errorInstances, exportedErrorClasses } from './helpers/errors.js'

describe('error names', () => {
  it('every exported error class names itself', () => {
    const instances = errorInstances(library)
    expect(instances.map(([name]) => name).sort()).toEqual(exportedErrorClasses(library))
    for (const [name, error] of instances) {
      expect(error.name).toBe(name)
      expect(String(error)).toMatch(new RegExp(`^${name}: `))
      expect(error).toBeInstanceOf(library.SessionError)
    }
  })
})

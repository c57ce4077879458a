import type { Pool } from 'pg'
import type { Product } from '@wxmp/contracts'

/** The products for sale; prices in fen, read from the database on every order so a price change applies at once. */
export class Catalog {
  constructor (private readonly pool: Pool) {}

  async list (): Promise<Product[]> {
    const { rows } = await this.pool.query<Product>('SELECT id, name, price FROM products WHERE active ORDER BY price, id')
    return rows
  }

  async get (id: string): Promise<Product | undefined> {
    const { rows } = await this.pool.query<Product>('SELECT id, name, price FROM products WHERE id = $1 AND active', [id])
    return rows[0]
  }
}

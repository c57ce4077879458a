import type { Pool } from 'pg'
import type { Product } from '@wxmp/contracts'

/** The products for sale, prices in fen. Checkout reads the price in the statement that places the order. */
export class Catalog {
  constructor (private readonly pool: Pool) {}

  async list (): Promise<Product[]> {
    const { rows } = await this.pool.query<Product>('SELECT id, name, price FROM products WHERE active ORDER BY price, id')
    return rows
  }
}

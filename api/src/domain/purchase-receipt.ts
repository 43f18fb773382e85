/** What the route answers: 202 for a queued purchase, 200 for a replay of a decided one, 201 decided in the request (sync mode). */
export interface PurchaseReceipt {
  httpStatus: 200 | 201 | 202;
  purchaseId: string;
  status: 'queued' | 'confirmed' | 'rejected';
  reason?: string;
  replayed: boolean;
}
